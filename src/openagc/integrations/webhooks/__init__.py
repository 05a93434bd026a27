"""Signed webhooks: subscriptions (`store`), Standard Webhooks signatures (`signing`), the background dispatcher
(`dispatch`), the admin endpoint `/api/v1/webhooks` (`http`) and `openagc webhooks` (`cli`). docs/webhooks.md."""
