"""Demo data: a small call centre that makes every example URL of the Agent API document meaningful.

``seed_demo(conn)`` inserts :data:`DEMO_ROWS` table by table. It deletes nothing and does nothing
when ``system_settings`` already holds a row. No ``vicidial_live_agents`` rows are created: agents
log in through the engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from openagc.store import schema

SERVER_IP = "10.10.10.15"
API_USER = "6666"
API_PASS = "1234"
AGENT_USERS = ("1000", "1001")
FRONTER_USER = "6667"
REMOTE_AGENT_USER = "1028"
CAMPAIGN_ID = "TESTCAMP"
MANUAL_CAMPAIGN_ID = "MANCAMP"
LIST_ID = 101
MANUAL_LIST_ID = 102
INGROUPS = ("TEST_IN", "TEST_IN2", "TEST_IN3", "SALESLINE", "TRAINING_IN", "AGENTDIRECT")
GROUP_ALIASES = {"TESTING": "7275551211", "DEFAULT": "3125551212", "BADCID": "123"}
DNC_NUMBERS = ("7275550000", "3125550000")
CAMPAIGN_DNC_NUMBERS = {CAMPAIGN_ID: ("7275550001",)}
CONF_EXTENS = tuple(range(8600051, 8600100))
PAUSE_CODES = {"BREAK": "Break", "LUNCH": "Lunch", "TRAIN": "Training", "MEET": "Meeting"}
AUDIO_FILES = ("ss-noservice", "EXship01", "EXship02", "EXship03", "appointment_reminder2", "hold_music")

_ENTRY = datetime(2024, 1, 2, 9, 0, 0)
_ALL_INGROUPS = " " + " ".join(INGROUPS) + " -"


def _user(user: str, full_name: str, level: int, group: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user": user,
        "pass": "1234",
        "full_name": full_name,
        "user_level": level,
        "user_group": group,
        "phone_login": user,
        "phone_pass": "test",
        "active": "Y",
        "vdc_agent_api_access": "1",
        "api_allowed_functions": " ALL_FUNCTIONS ",
        "agentcall_manual": "1",
        "scheduled_callbacks": "1",
        "agentonly_callbacks": "1",
        "closer_campaigns": " TEST_IN SALESLINE -",
    }
    row.update(extra)
    return row


def _lead(
    lead_id: int, phone: str, first: str, last: str, list_id: int = LIST_ID, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "lead_id": lead_id,
        "entry_date": _ENTRY,
        "status": "NEW",
        "user": "",
        "vendor_lead_code": "",
        "source_id": "DEMO",
        "list_id": list_id,
        "gmt_offset_now": -5,
        "called_since_last_reset": "N",
        "phone_code": "1",
        "phone_number": phone,
        "title": "",
        "first_name": first,
        "middle_initial": "",
        "last_name": last,
        "address1": "",
        "address2": "",
        "address3": "",
        "city": "Tampa",
        "state": "FL",
        "province": "",
        "postal_code": "33601",
        "country_code": "USA",
        "gender": "U",
        "alt_phone": "",
        "email": "",
        "security_phrase": "",
        "comments": "",
        "called_count": 0,
        "rank": 0,
        "owner": "",
        "entry_list_id": 0,
    }
    row.update(extra)
    return row


def _status(status: str, name: str, **flags: str) -> dict[str, Any]:
    row: dict[str, Any] = {"status": status, "status_name": name, "selectable": "Y", "human_answered": "N",
                           "category": "UNDEFINED", "sale": "N", "dnc": "N", "customer_contact": "N",
                           "not_interested": "N", "unworkable": "N", "scheduled_callback": "N",
                           "completed": "N", "answering_machine": "N"}
    row.update(flags)
    return row


SYSTEM_STATUSES: list[dict[str, Any]] = [
    _status("NEW", "New Lead", selectable="N"),
    _status("QUEUE", "Lead To Be Called", selectable="N"),
    _status("INCALL", "Lead Being Called", selectable="N"),
    _status("DROP", "Agent Not Available", selectable="N"),
    _status("DISPO", "Disposition Screen", selectable="N"),
    _status("XFER", "Call Transferred", selectable="N"),
    _status("CBHOLD", "Call Back Hold", selectable="N"),
    _status("NA", "No Answer AutoDial", selectable="N", unworkable="N"),
    _status("A", "Answering Machine", answering_machine="Y"),
    _status("B", "Busy"),
    _status("DC", "Disconnected Number", unworkable="Y"),
    _status("N", "No Answer"),
    _status("NI", "Not Interested", human_answered="Y", customer_contact="Y", not_interested="Y"),
    _status("NP", "No Pitch No Price", human_answered="Y", customer_contact="Y"),
    _status("SALE", "Sale Made", human_answered="Y", sale="Y", customer_contact="Y", completed="Y"),
    _status("DNC", "DO NOT CALL", human_answered="Y", dnc="Y", customer_contact="Y", not_interested="Y"),
    _status("CALLBK", "Call Back", human_answered="Y", customer_contact="Y", scheduled_callback="Y"),
    _status("LSMERG", "Lead Switched", selectable="N"),
]

DEMO_ROWS: dict[str, list[dict[str, Any]]] = {
    "system_settings": [{
        "version": "2.14-82",
        "install_date": "2024-01-01",
        "use_non_latin": "0",
        "webroot_writable": "0",
        "vdc_agent_api_active": "1",
        "enable_languages": "0",
        "language_method": "DISABLED",
        "agent_debug_logging": "0",
        "outbound_cid_any": "API_ONLY",
        "allow_web_debug": "0",
        "agent_notifications": "1",
        "pass_hash_enabled": "0",
        "pass_key": "",
        "hosted_settings": "",
        "allow_ip_lists": "0",
        "system_ip_blacklist": "",
        "enable_queuemetrics_logging": "0",
        "enable_vtiger_integration": "0",
        "sounds_central_control_active": "1",
        "sounds_web_server": "127.0.0.1",
        "sounds_web_directory": "audio_store",
    }],
    "servers": [{
        "server_id": "demo1",
        "server_description": "openagc demo telephony server",
        "server_ip": SERVER_IP,
        "active": "Y",
        "asterisk_version": "18.20.0-vici",
        "max_vicidial_trunks": 96,
        "telnet_host": "localhost",
        "telnet_port": 5038,
        "ASTmgrUSERNAME": "cron",
        "ASTmgrSECRET": "1234",
        "local_gmt": "-5.00",
        "ext_context": "default",
        "active_asterisk_server": "Y",
        "active_agent_login_server": "Y",
        "conf_engine": "MEETME",
    }],
    "phones": [
        {"extension": ext, "dialplan_number": ext, "voicemail_id": ext, "server_ip": SERVER_IP,
         "login": ext, "pass": "test", "status": "ACTIVE", "active": "Y", "phone_type": "SIP",
         "fullname": f"Phone {ext}", "protocol": "SIP", "ext_context": "default",
         "outbound_cid": "7275551000"}
        for ext in (*AGENT_USERS, API_USER, FRONTER_USER, REMOTE_AGENT_USER)
    ],
    "vicidial_user_groups": [
        {"user_group": "ADMIN", "group_name": "Administrators",
         "allowed_campaigns": " -ALL-CAMPAIGNS- - ", "admin_viewable_groups": " ---ALL--- ",
         "agent_status_viewable_groups": " --ALL-GROUPS-- ", "group_shifts": "",
         "agent_ip_list": "", "admin_ip_list": "", "api_ip_list": ""},
        {"user_group": "AGENTS", "group_name": "Agents",
         "allowed_campaigns": f" {CAMPAIGN_ID} {MANUAL_CAMPAIGN_ID} -", "admin_viewable_groups": " AGENTS ",
         "agent_status_viewable_groups": " AGENTS ", "group_shifts": "",
         "agent_ip_list": "", "admin_ip_list": "", "api_ip_list": ""},
    ],
    "vicidial_users": [
        _user(API_USER, "API User", 8, "ADMIN", custom_three="876543", change_agent_campaign="1",
              modify_leads="1", modify_campaigns="1", agent_choose_ingroups="1", view_reports="1",
              modify_users="1"),
        _user("1000", "Agent 1000", 1, "AGENTS", custom_three="71000"),
        _user("1001", "Agent 1001", 1, "AGENTS", custom_three="71001"),
        _user(FRONTER_USER, "Fronter 6667", 1, "AGENTS", custom_three="76667"),
        _user(REMOTE_AGENT_USER, "Remote Agent 1028", 1, "AGENTS", custom_three="71028"),
    ],
    "vicidial_campaigns": [
        {"campaign_id": CAMPAIGN_ID, "campaign_name": "Test Campaign", "active": "Y",
         "dial_method": "RATIO", "auto_dial_level": "1.0", "hopper_level": 50, "lead_order": "DOWN",
         "dial_statuses": " NEW NA B N -", "local_call_time": "24hours", "dial_timeout": 60,
         "dial_prefix": "9", "campaign_cid": "7275551111", "park_ext": "8301",
         "park_file_name": "park", "allow_closers": "Y", "campaign_allow_inbound": "Y",
         "closer_campaigns": _ALL_INGROUPS, "xfer_groups": _ALL_INGROUPS,
         "default_xfer_group": "SALESLINE", "api_manual_dial": "STANDARD", "manual_dial_list_id": LIST_ID,
         "manual_preview_dial": "PREVIEW_AND_SKIP", "alt_number_dialing": "Y",
         "use_internal_dnc": "Y", "use_campaign_dnc": "Y", "use_other_campaign_dnc": "",
         "scheduled_callbacks": "Y", "agent_pause_codes_active": "Y",
         "agent_lead_search": "LIVE_CALL_INBOUND_AND_MANUAL", "campaign_recording": "ONDEMAND",
         "campaign_rec_filename": "FULLDATE_CUSTPHONE", "am_message_exten": "vm-goodbye",
         "three_way_call_cid": "CAMPAIGN", "web_form_address": "", "wrapup_seconds": 0},
        {"campaign_id": MANUAL_CAMPAIGN_ID, "campaign_name": "Manual Dial Campaign", "active": "Y",
         "dial_method": "MANUAL", "auto_dial_level": "0", "hopper_level": 10, "lead_order": "DOWN",
         "dial_statuses": " NEW -", "local_call_time": "24hours", "dial_timeout": 60, "dial_prefix": "9",
         "campaign_cid": "7275552222", "park_ext": "8301", "park_file_name": "park", "allow_closers": "Y",
         "campaign_allow_inbound": "N", "closer_campaigns": " -", "xfer_groups": _ALL_INGROUPS,
         "default_xfer_group": "---NONE---", "api_manual_dial": "QUEUE",
         "manual_dial_list_id": MANUAL_LIST_ID,
         "manual_preview_dial": "PREVIEW_ONLY", "alt_number_dialing": "N", "use_internal_dnc": "Y",
         "use_campaign_dnc": "N", "scheduled_callbacks": "Y", "agent_pause_codes_active": "FORCE",
         "agent_lead_search": "DISABLED", "campaign_recording": "NEVER", "web_form_address": ""},
    ],
    "vicidial_lists": [
        {"list_id": LIST_ID, "list_name": "Test List", "campaign_id": CAMPAIGN_ID, "active": "Y",
         "list_description": "demo leads for TESTCAMP", "list_changedate": _ENTRY},
        {"list_id": MANUAL_LIST_ID, "list_name": "Manual List", "campaign_id": MANUAL_CAMPAIGN_ID,
         "active": "Y", "list_description": "demo leads for MANCAMP", "list_changedate": _ENTRY},
    ],
    "vicidial_list": [
        _lead(12345, "3125551001", "Jane", "Doe", vendor_lead_code="1234567890"),
        _lead(12346, "3125551002", "John", "Roe", vendor_lead_code="1234567891"),
        _lead(12347, "3125551003", "Mary", "Major", vendor_lead_code="1234567892",
              alt_phone="3125551903", address3="3125551803"),
        _lead(12348, "3125551004", "Rick", "Minor", vendor_lead_code="1234567893"),
        _lead(12349, "3125551005", "Ann", "Smith", vendor_lead_code="1234567894", status="NA"),
        _lead(12350, "3125551006", "Bob", "Jones", vendor_lead_code="1234567895", status="B"),
        _lead(12351, "3125551007", "Carl", "Brown", vendor_lead_code="1234567896", status="CALLBK"),
        _lead(87498, "7275551213", "Sam", "Wise", vendor_lead_code="1234"),
        _lead(123456, "7275551212", "Bill", "Williams", vendor_lead_code="9987-1234765", province="SK",
              security_phrase="WILLIAMS", source_id="JUH764AJJJ9", alt_phone="7275551299",
              address3="7275551298"),
        _lead(12352, "8135551001", "Dana", "Scully", list_id=MANUAL_LIST_ID, vendor_lead_code="MAN-1"),
        _lead(12353, "8135551002", "Fox", "Mulder", list_id=MANUAL_LIST_ID, vendor_lead_code="MAN-2"),
        _lead(12354, "8135551003", "Walter", "Skinner", list_id=MANUAL_LIST_ID, vendor_lead_code="MAN-3"),
    ],
    "vicidial_inbound_groups": [
        {"group_id": gid, "group_name": name, "group_color": color, "active": "Y",
         "next_agent_call": "longest_wait_time", "default_xfer_group": "---NONE---",
         "call_time_id": "24hours", "web_form_address": "", "user_group": "---ALL---"}
        for gid, name, color in (
            ("TEST_IN", "Test Inbound", "#FFFF99"),
            ("TEST_IN2", "Test Inbound 2", "#99FF99"),
            ("TEST_IN3", "Test Inbound 3", "#99FFFF"),
            ("SALESLINE", "Sales Line", "#FF9999"),
            ("TRAINING_IN", "Training Inbound", "#CCCCFF"),
            ("AGENTDIRECT", "Single Agent Direct Queue", "#FFCC99"),
        )
    ],
    "vicidial_inbound_group_agents": [
        {"user": user, "group_id": gid, "group_rank": 0, "group_weight": 0, "calls_today": 0,
         "group_grade": 1, "group_type": "C", "calls_today_filtered": 0, "daily_limit": -1}
        for user in (*AGENT_USERS, API_USER, FRONTER_USER) for gid in INGROUPS
    ],
    "vicidial_statuses": SYSTEM_STATUSES,
    "vicidial_campaign_statuses": [
        {**_status("CAMPCB", "Campaign Callback", human_answered="Y", customer_contact="Y",
                   scheduled_callback="Y"), "campaign_id": CAMPAIGN_ID},
        {**_status("TEST88", "Remote Agent Test", human_answered="Y"), "campaign_id": CAMPAIGN_ID},
        {**_status("APPT", "Appointment Set", human_answered="Y", customer_contact="Y", sale="Y"),
         "campaign_id": MANUAL_CAMPAIGN_ID},
    ],
    "vicidial_pause_codes": [
        {"pause_code": code, "pause_code_name": name, "billable": "NO", "campaign_id": camp}
        for camp in (CAMPAIGN_ID, MANUAL_CAMPAIGN_ID) for code, name in PAUSE_CODES.items()
    ],
    "groups_alias": [
        {"group_alias_id": alias, "group_alias_name": f"{alias.title()} alias", "caller_id_number": cid,
         "caller_id_name": alias, "active": "Y", "user_group": "---ALL---"}
        for alias, cid in GROUP_ALIASES.items()
    ],
    "vicidial_dnc": [{"phone_number": n} for n in DNC_NUMBERS],
    "vicidial_campaign_dnc": [
        {"phone_number": n, "campaign_id": camp} for camp, nums in CAMPAIGN_DNC_NUMBERS.items() for n in nums
    ],
    "audio_store_details": [
        {"audio_filename": f"{name}.wav", "audio_format": "wav", "audio_filesize": 160044,
         "audio_epoch": 1704186000, "audio_length": 10, "wav_format_details": "PCM 16bit 8000Hz mono",
         "wav_asterisk_valid": "GOOD"}
        for name in AUDIO_FILES
    ],
    "vicidial_conferences": [
        {"conf_exten": conf, "server_ip": SERVER_IP, "extension": "", "leave_3way": "0"}
        for conf in CONF_EXTENS
    ],
}


def _table(name: str) -> sa.Table:
    return schema.metadata.tables[name]


def seed_demo(conn: sa.Connection) -> None:
    """Insert the demo rows unless ``system_settings`` already has a row. Deletes nothing."""
    if conn.execute(sa.select(sa.func.count()).select_from(schema.system_settings)).scalar_one():
        return
    for name, rows in DEMO_ROWS.items():
        # executemany needs one key set per batch; rows of a table may name different columns.
        batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            batches.setdefault(tuple(sorted(row)), []).append(row)
        for batch in batches.values():
            conn.execute(sa.insert(_table(name)), batch)


def seed_demo_sync_url(sync_url: str) -> None:
    """Open ``sync_url``, seed it in one transaction, close it."""
    engine = sa.create_engine(sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            seed_demo(conn)
    finally:
        engine.dispose()
