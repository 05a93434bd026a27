"""The companion status API: upstream's `/vicidial/non_agent_api.php` status functions (`version`, `agent_status`,
`logged_in_agents`, `callid_info`, `agent_ingroup_info`, `agent_campaigns`, `in_group_status`,
`user_group_status`) with upstream's answers, permissions and api log rows; docs/companion-api.md."""
