"""Lead facts shared by the API, the engine and the console."""

# The `vicidial_list` fields `update_fields` may change (and the engine reports as changed), in the order
# upstream lists and writes them.
UPDATABLE_LEAD_FIELDS = (
    "phone_code", "address1", "address2", "address3", "alt_phone", "city", "comments", "country_code",
    "date_of_birth", "email", "first_name", "gender", "gmt_offset_now", "last_name", "middle_initial",
    "phone_number", "postal_code", "province", "security_phrase", "source_id", "state", "title",
    "vendor_lead_code", "rank", "owner",
)
