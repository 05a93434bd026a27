"""SQLAlchemy Core tables with upstream VICIdial's names, types, nullability and defaults.

Only the tables and columns that the Agent API, the agent session engine and their logs touch are
declared (see ``/spec``). Each table is a module-level ``Table`` named exactly like the upstream table.
Types come from :mod:`openagc.store.types` so the same metadata creates valid DDL on SQLite and on
MariaDB/MySQL (strict ``sql_mode``, InnoDB, utf8mb4).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from openagc.store.types import (
    BIGINT,
    DATE,
    DATETIME,
    DATETIME6,
    DECIMAL,
    DOUBLE,
    INT,
    MEDIUMINT,
    MEDIUMTEXT,
    SMALLINT,
    TEXT,
    TIME,
    TINYINT,
    VARCHAR,
    auto_pk,
    col,
    enum,
    now_local,
    updated_timestamp,
)

metadata = sa.MetaData()

_TABLE_KW: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _table(name: str, *items: Any) -> sa.Table:
    return sa.Table(name, metadata, *items, **_TABLE_KW)


def _pk(name: str, type_: Any) -> sa.Column[Any]:
    """A non-auto-increment primary key column."""
    return sa.Column(name, type_, primary_key=True, autoincrement=False, nullable=False)


YN = ("Y", "N")
ZO = ("0", "1")
INT9U = INT(9, unsigned=True)
INT10U = INT(10, unsigned=True)
LIST_ID = BIGINT(14, unsigned=True)
VLA_STATUSES = ("READY", "QUEUE", "INCALL", "PAUSED", "CLOSER", "MQUEUE")
DIAL_METHODS = (
    "MANUAL", "RATIO", "ADAPT_HARD_LIMIT", "ADAPT_TAPERED", "ADAPT_AVERAGE", "INBOUND_MAN",
    "SHARED_RATIO", "SHARED_ADAPT_HARD_LIMIT", "SHARED_ADAPT_TAPERED", "SHARED_ADAPT_AVERAGE",
)
ALT_NUMBER_DIALING = (
    "N", "Y", "SELECTED", "SELECTED_TIMER_ALT", "SELECTED_TIMER_ADDR3", "UNSELECTED",
    "UNSELECTED_TIMER_ALT", "UNSELECTED_TIMER_ADDR3",
)
CALLED_SINCE_LAST_RESET = ("Y", "N", *(f"Y{i}" for i in range(1, 11)), "D")

# --------------------------------------------------------------------------------------------
# System, servers, phones
# --------------------------------------------------------------------------------------------

system_settings = _table(
    "system_settings",
    col("version", VARCHAR(50)),
    col("install_date", VARCHAR(50)),
    col("use_non_latin", enum(*ZO), dflt="0"),
    col("webroot_writable", enum(*ZO), dflt="1"),
    col("enable_queuemetrics_logging", enum(*ZO), dflt="0"),
    col("queuemetrics_server_ip", VARCHAR(15)),
    col("queuemetrics_dbname", VARCHAR(50)),
    col("queuemetrics_login", VARCHAR(50)),
    col("queuemetrics_pass", VARCHAR(50)),
    col("queuemetrics_url", VARCHAR(255)),
    col("queuemetrics_log_id", VARCHAR(10), dflt="VIC"),
    col("queuemetrics_eq_prepend", VARCHAR(255), dflt="NONE"),
    col("queuemetrics_pe_phone_append", enum(*ZO), dflt="0"),
    col("queuemetrics_socket", VARCHAR(20), dflt="NONE"),
    col("queuemetrics_socket_url", TEXT()),
    col("queuemetrics_pause_type", enum(*ZO), dflt="0"),
    col("queuemetrics_callstatus", enum(*ZO), dflt="1"),
    col("vicidial_agent_disable", enum("NOT_ACTIVE", "LIVE_AGENT", "EXTERNAL", "ALL"), dflt="ALL"),
    col("enable_agc_xfer_log", enum(*ZO), dflt="0"),
    col("vdc_agent_api_active", enum(*ZO), dflt="0"),
    col("enable_vtiger_integration", enum(*ZO), dflt="0"),
    col("vtiger_server_ip", VARCHAR(15)),
    col("vtiger_dbname", VARCHAR(50)),
    col("vtiger_login", VARCHAR(50)),
    col("vtiger_pass", VARCHAR(50)),
    col("vtiger_url", VARCHAR(255)),
    col("sounds_central_control_active", enum(*ZO), dflt="0"),
    col("sounds_web_server", VARCHAR(50), dflt="127.0.0.1"),
    col("sounds_web_directory", VARCHAR(255), dflt=""),
    col("enable_languages", enum(*ZO), dflt="0"),
    col("language_method", VARCHAR(20), dflt="DISABLED"),
    col("agent_debug_logging", VARCHAR(20), dflt="0"),
    col("outbound_cid_any", enum("DISABLED", "API_ONLY"), dflt="DISABLED"),
    col("allow_web_debug", enum("0", "1", "2", "3", "4", "5", "6"), dflt="0"),
    col("agent_notifications", enum("0", "1", "2", "3", "4", "5", "6", "7"), dflt="0"),
    col("pass_hash_enabled", enum(*ZO), dflt="0"),
    col("pass_key", VARCHAR(100), dflt=""),
    col("pass_cost", TINYINT(2, unsigned=True), dflt="2"),
    col("hosted_settings", VARCHAR(100), dflt=""),
    col("allow_ip_lists", enum("0", "1", "2"), dflt="0"),
    col("system_ip_blacklist", VARCHAR(30), dflt=""),
    col("agent_screen_timer", VARCHAR(20), dflt="setTimeout"),
    col("timeclock_end_of_day", VARCHAR(4), dflt="0000"),
    col("default_local_gmt", VARCHAR(6), dflt="-5.00"),
    col("agentonly_callback_campaign_lock", enum(*ZO), dflt="1"),
    col("allow_chats", enum(*ZO), dflt="0"),
    col("allow_emails", enum(*ZO), dflt="0"),
)

servers = _table(
    "servers",
    col("server_id", VARCHAR(10), nullable=False),
    col("server_description", VARCHAR(255)),
    col("server_ip", VARCHAR(15), nullable=False),
    col("active", enum(*YN)),
    col("asterisk_version", VARCHAR(20), dflt="1.4.21.2"),
    col("max_vicidial_trunks", SMALLINT(4), dflt="23"),
    col("telnet_host", VARCHAR(20), nullable=False, dflt="localhost"),
    col("telnet_port", INT(5), nullable=False, dflt="5038"),
    col("ASTmgrUSERNAME", VARCHAR(20), nullable=False, dflt="cron"),
    col("ASTmgrSECRET", VARCHAR(20), nullable=False, dflt="1234"),
    col("local_gmt", VARCHAR(6), dflt="-5.00"),
    col("voicemail_dump_exten", VARCHAR(20), nullable=False, dflt="85026666666666"),
    col("answer_transfer_agent", VARCHAR(20), nullable=False, dflt="8365"),
    col("ext_context", VARCHAR(20), nullable=False, dflt="default"),
    col("vd_server_logs", enum(*YN), dflt="Y"),
    col("vicidial_balance_active", enum(*YN), dflt="N"),
    col("recording_web_link", enum("SERVER_IP", "ALT_IP", "EXTERNAL_IP"), dflt="SERVER_IP"),
    col("alt_server_ip", VARCHAR(100), dflt=""),
    col("active_asterisk_server", enum(*YN), dflt="Y"),
    col("active_agent_login_server", enum(*YN), dflt="Y"),
    col("outbound_calls_per_second", SMALLINT(3, unsigned=True), dflt="5"),
    col("sysload", INT(6), nullable=False, dflt="0"),
    col("channels_total", SMALLINT(4, unsigned=True), nullable=False, dflt="0"),
    col("cpu_idle_percent", SMALLINT(3, unsigned=True), nullable=False, dflt="0"),
    col("disk_usage", VARCHAR(255), dflt="1"),
    col("vicidial_recording_limit", MEDIUMINT(8), dflt="60"),
    col("carrier_logging_active", enum(*YN), dflt="Y"),
    col("conf_secret", VARCHAR(20), dflt="test"),
    col("external_server_ip", VARCHAR(100), dflt=""),
    col("conf_engine", enum("MEETME", "CONFBRIDGE"), dflt="MEETME"),
    col("conf_update_interval", SMALLINT(6, unsigned=True), dflt="60"),
    sa.UniqueConstraint("server_id", name="server_id"),
    sa.Index("server_ip", "server_ip", unique=True),
)

phones = _table(
    "phones",
    col("extension", VARCHAR(100), nullable=False),
    col("dialplan_number", VARCHAR(20)),
    col("voicemail_id", VARCHAR(10)),
    col("phone_ip", VARCHAR(15)),
    col("computer_ip", VARCHAR(15)),
    col("server_ip", VARCHAR(15)),
    col("login", VARCHAR(15)),
    col("pass", VARCHAR(100)),
    col("status", VARCHAR(10)),
    col("active", enum(*YN)),
    col("phone_type", VARCHAR(50)),
    col("fullname", VARCHAR(50)),
    col("company", VARCHAR(10)),
    col("protocol", enum("SIP", "PJSIP", "Zap", "IAX2", "EXTERNAL", "DAHDI"), dflt="SIP"),
    col("local_gmt", VARCHAR(6), dflt="-5.00"),
    col("login_user", VARCHAR(20)),
    col("login_pass", VARCHAR(100)),
    col("login_campaign", VARCHAR(10)),
    col("park_on_extension", VARCHAR(10), dflt="8301"),
    col("conf_on_extension", VARCHAR(10), dflt="8302"),
    col("VICIDIAL_park_on_extension", VARCHAR(10), dflt="8301"),
    col("VICIDIAL_park_on_filename", VARCHAR(10), dflt="park"),
    col("monitor_prefix", VARCHAR(10), dflt="8612"),
    col("recording_exten", VARCHAR(10), dflt="8309"),
    col("voicemail_exten", VARCHAR(10), dflt="8501"),
    col("voicemail_dump_exten", VARCHAR(20), dflt="85026666666666"),
    col("ext_context", VARCHAR(20), dflt="default"),
    col("dtmf_send_extension", VARCHAR(100), dflt="local/8500998@default"),
    col("call_out_number_group", VARCHAR(100), dflt="Zap/g2/"),
    col("enable_fast_refresh", enum(*ZO), dflt="0"),
    col("fast_refresh_rate", SMALLINT(5), dflt="1000"),
    col("VDstop_rec_after_each_call", enum(*ZO), dflt="1"),
    col("phone_context", VARCHAR(20), dflt="default"),
    col("on_hook_agent", enum(*YN), dflt="N"),
    col("outbound_cid", VARCHAR(20)),
    col("is_webphone", enum("Y", "N", "Y_API_LAUNCH"), dflt="N"),
    sa.UniqueConstraint("extension", "server_ip", name="extenserver"),
)

# --------------------------------------------------------------------------------------------
# Users, groups, IP lists, languages
# --------------------------------------------------------------------------------------------

vicidial_users = _table(
    "vicidial_users",
    auto_pk("user_id"),
    col("user", VARCHAR(20), nullable=False),
    col("pass", VARCHAR(100), nullable=False),
    col("full_name", VARCHAR(50)),
    col("user_level", TINYINT(3, unsigned=True), dflt="1"),
    col("user_group", VARCHAR(20)),
    col("phone_login", VARCHAR(20)),
    col("phone_pass", VARCHAR(20)),
    col("active", enum(*YN), dflt="Y"),
    col("hotkeys_active", enum(*ZO), dflt="0"),
    col("agentonly_callbacks", enum(*ZO), dflt="0"),
    col("agentcall_manual", enum("0", "1", "2", "3", "4", "5"), dflt="0"),
    col("vicidial_recording", enum(*ZO), dflt="1"),
    col("vicidial_transfers", enum(*ZO), dflt="1"),
    col("closer_default_blended", enum(*ZO), dflt="0"),
    col("closer_campaigns", TEXT()),
    col("scheduled_callbacks", enum(*ZO), dflt="1"),
    col("agent_choose_ingroups", enum(*ZO), dflt="1"),
    col("agent_choose_blended", enum(*ZO), dflt="1"),
    col("change_agent_campaign", enum(*ZO), dflt="0"),
    col("modify_leads", enum("0", "1", "2", "3", "4", "5", "6"), dflt="0"),
    col("modify_campaigns", enum(*ZO), dflt="0"),
    col("modify_users", enum(*ZO), dflt="0"),
    col("view_reports", enum(*ZO), dflt="0"),
    col("vdc_agent_api_access", enum(*ZO), dflt="0"),
    col("api_allowed_functions", VARCHAR(1000), dflt=" ALL_FUNCTIONS "),
    col("api_list_restrict", enum("1", "0"), dflt="0"),
    col("selected_language", VARCHAR(100), dflt="default English"),
    col("custom_one", VARCHAR(100), dflt=""),
    col("custom_two", VARCHAR(100), dflt=""),
    col("custom_three", VARCHAR(100), dflt=""),
    col("custom_four", VARCHAR(100), dflt=""),
    col("custom_five", VARCHAR(100), dflt=""),
    col("ignore_ip_list", enum("1", "0"), dflt="0"),
    col("failed_login_count", TINYINT(3, unsigned=True), dflt="0"),
    col("last_login_date", DATETIME(), dflt="2001-01-01 00:00:01"),
    col("failed_login_attempts_today", MEDIUMINT(8, unsigned=True), dflt="0"),
    col("failed_login_count_today", SMALLINT(6, unsigned=True), dflt="0"),
    col("failed_last_ip_today", VARCHAR(50), dflt=""),
    col("failed_last_type_today", VARCHAR(20), dflt=""),
    col("last_ip", VARCHAR(15), dflt=""),
    col("pass_hash", VARCHAR(500), dflt=""),
    col("email", VARCHAR(100), dflt=""),
    col("user_code", VARCHAR(100), dflt=""),
    col("territory", VARCHAR(100), dflt=""),
    col("max_inbound_calls", SMALLINT(5, unsigned=True), dflt="0"),
    col("user_choose_language", enum(*ZO), dflt="0"),
    sa.UniqueConstraint("user", name="user"),
)

vicidial_user_groups = _table(
    "vicidial_user_groups",
    col("user_group", VARCHAR(20), nullable=False),
    col("group_name", VARCHAR(40), nullable=False),
    col("allowed_campaigns", TEXT()),
    col("group_shifts", TEXT()),
    col("forced_timeclock_login", enum("Y", "N", "ADMIN_EXEMPT"), dflt="N"),
    col("shift_enforcement", enum("OFF", "START", "ALL", "ADMIN_EXEMPT"), dflt="OFF"),
    col("agent_status_viewable_groups", TEXT()),
    col("admin_viewable_groups", TEXT()),
    col("agent_ip_list", VARCHAR(30), dflt=""),
    col("admin_ip_list", VARCHAR(30), dflt=""),
    col("api_ip_list", VARCHAR(30), dflt=""),
    sa.UniqueConstraint("user_group", name="user_group"),
)

vicidial_ip_lists = _table(
    "vicidial_ip_lists",
    _pk("ip_list_id", VARCHAR(30)),
    col("ip_list_name", VARCHAR(100)),
    col("active", enum(*YN), dflt="N"),
    col("user_group", VARCHAR(20), dflt="---ALL---"),
)

vicidial_ip_list_entries = _table(
    "vicidial_ip_list_entries",
    col("ip_list_id", VARCHAR(30), nullable=False),
    col("ip_address", VARCHAR(45), nullable=False),
    sa.Index("ip_list_id", "ip_list_id"),
    sa.Index("ip_address", "ip_address"),
)

vicidial_language_phrases = _table(
    "vicidial_language_phrases",
    auto_pk("phrase_id", mysql.INTEGER(10, unsigned=True)),
    col("language_id", VARCHAR(100), nullable=False),
    col("english_text", VARCHAR(10000), dflt=""),
    col("translated_text", TEXT()),
    col("source", VARCHAR(20), dflt=""),
    col("modify_date", DATETIME()),
    sa.Index("language_id", "language_id"),
)

# --------------------------------------------------------------------------------------------
# Campaigns, lists, leads, statuses, pause codes, in-groups, aliases, DNC
# --------------------------------------------------------------------------------------------

vicidial_campaigns = _table(
    "vicidial_campaigns",
    _pk("campaign_id", VARCHAR(8)),
    col("campaign_name", VARCHAR(40)),
    col("active", enum(*YN)),
    col("dial_status_a", VARCHAR(6)),
    col("dial_status_b", VARCHAR(6)),
    col("dial_status_c", VARCHAR(6)),
    col("dial_status_d", VARCHAR(6)),
    col("dial_status_e", VARCHAR(6)),
    col("lead_order", VARCHAR(30)),
    col("park_ext", VARCHAR(10)),
    col("park_file_name", VARCHAR(100), dflt="default"),
    col("web_form_address", TEXT()),
    col("allow_closers", enum(*YN)),
    col("hopper_level", INT(8, unsigned=True), dflt="1"),
    col("auto_dial_level", VARCHAR(6), dflt="0"),
    col("next_agent_call", VARCHAR(40), dflt="longest_wait_time"),
    col("local_call_time", VARCHAR(10), dflt="9am-9pm"),
    col("voicemail_ext", VARCHAR(10)),
    col("dial_timeout", TINYINT(3, unsigned=True), dflt="60"),
    col("dial_prefix", VARCHAR(20), dflt="9"),
    col("campaign_cid", VARCHAR(20), dflt="0000000000"),
    col("campaign_vdad_exten", VARCHAR(20), dflt="8368"),
    col("campaign_rec_exten", VARCHAR(20), dflt="8309"),
    col("campaign_recording", enum("NEVER", "ONDEMAND", "ALLCALLS", "ALLFORCE"), dflt="ONDEMAND"),
    col("campaign_rec_filename", VARCHAR(50), dflt="FULLDATE_CUSTPHONE"),
    col("campaign_script", VARCHAR(20)),
    col("am_message_exten", VARCHAR(100), dflt="vm-goodbye"),
    col("alt_number_dialing", enum(*ALT_NUMBER_DIALING), dflt="N"),
    col("scheduled_callbacks", enum(*YN), dflt="N"),
    col("wrapup_seconds", SMALLINT(3, unsigned=True), dflt="0"),
    col("wrapup_message", VARCHAR(255), dflt="Wrapup Call"),
    col("closer_campaigns", TEXT()),
    col("use_internal_dnc", enum("Y", "N", "AREACODE"), dflt="N"),
    col("use_campaign_dnc", enum("Y", "N", "AREACODE"), dflt="N"),
    col("use_other_campaign_dnc", VARCHAR(8), dflt=""),
    col("allcalls_delay", SMALLINT(3, unsigned=True), dflt="0"),
    col("omit_phone_code", enum(*YN), dflt="N"),
    col("dial_method", enum(*DIAL_METHODS), dflt="MANUAL"),
    col("campaign_description", VARCHAR(255)),
    col("campaign_changedate", DATETIME()),
    col("campaign_logindate", DATETIME()),
    col("campaign_calldate", DATETIME()),
    col("dial_statuses", VARCHAR(255), dflt=" NEW -"),
    col("campaign_allow_inbound", enum(*YN), dflt="N"),
    col("manual_dial_list_id", LIST_ID, dflt="998"),
    col("default_xfer_group", VARCHAR(20), dflt="---NONE---"),
    col("xfer_groups", TEXT()),
    col("queue_priority", TINYINT(2), dflt="50"),
    col("drop_inbound_group", VARCHAR(20), dflt="---NONE---"),
    col("agent_pause_codes_active", enum("Y", "N", "FORCE"), dflt="N"),
    col("pause_after_each_call", enum(*YN), dflt="N"),
    col("three_way_call_cid",
        enum("CAMPAIGN", "CUSTOMER", "AGENT_PHONE", "AGENT_CHOOSE", "CUSTOM_CID"), dflt="CAMPAIGN"),
    col("three_way_dial_prefix", VARCHAR(20), dflt=""),
    col("web_form_target", VARCHAR(100), dflt="vdcwebform"),
    col("vtiger_search_category", VARCHAR(100), dflt="LEAD"),
    col("vtiger_create_call_record", enum("Y", "N", "DISPO"), dflt="Y"),
    col("vtiger_create_lead_record", enum(*YN), dflt="Y"),
    col("vtiger_screen_login", enum("Y", "N", "NEW_WINDOW"), dflt="Y"),
    col("vtiger_search_dead", enum("DISABLED", "ASK", "RESURRECT"), dflt="ASK"),
    col("vtiger_status_call", enum(*YN), dflt="N"),
    col("api_manual_dial", enum("STANDARD", "QUEUE", "QUEUE_AND_AUTOCALL"), dflt="STANDARD"),
    col("manual_dial_call_time_check", enum("DISABLED", "ENABLED"), dflt="DISABLED"),
    col("manual_preview_dial", enum("DISABLED", "PREVIEW_AND_SKIP", "PREVIEW_ONLY"), dflt="PREVIEW_AND_SKIP"),
    col("manual_dial_filter", VARCHAR(50), dflt="NONE"),
    col("agent_lead_search",
        enum("ENABLED", "LIVE_CALL_INBOUND", "LIVE_CALL_INBOUND_AND_MANUAL", "DISABLED"), dflt="DISABLED"),
    col("queuemetrics_phone_environment", VARCHAR(20), dflt=""),
    col("disable_dispo_screen",
        enum("DISPO_ENABLED", "DISPO_DISABLED", "DISPO_SELECT_DISABLED"), dflt="DISPO_ENABLED"),
    col("disable_dispo_status", VARCHAR(6), dflt=""),
    col("agent_hangup_route",
        enum("HANGUP", "MESSAGE", "EXTENSION", "IN_GROUP", "CALLMENU"), dflt="HANGUP"),
    col("agent_hangup_value", TEXT()),
    col("transfer_no_dispo", VARCHAR(40), dflt="DISABLED"),
    col("leave_3way_start_recording", VARCHAR(40), dflt="DISABLED"),
    col("hangup_all_non_reserved", enum(*YN), dflt="N"),
    col("routing_initiated_recordings", enum(*YN), dflt="N"),
    col("per_call_notes", enum("ENABLED", "DISABLED"), dflt="DISABLED"),
    col("pause_max", SMALLINT(5, unsigned=True), dflt="0"),
    col("pause_max_dispo", VARCHAR(6), dflt="PAUSMX"),
    col("pause_max_exceptions", VARCHAR(255), dflt=""),
    col("ready_max_logout", MEDIUMINT(7), dflt="0"),
    col("dispo_max", SMALLINT(5, unsigned=True), dflt="0"),
    col("dispo_max_dispo", VARCHAR(6), dflt="DISMX"),
    col("dead_max", SMALLINT(5, unsigned=True), dflt="0"),
    col("dead_max_dispo", VARCHAR(6), dflt="DCMX"),
    col("dead_to_dispo", enum("ENABLED", "DISABLED"), dflt="DISABLED"),
    col("manual_auto_next", SMALLINT(5, unsigned=True), dflt="0"),
    col("in_man_dial_next_ready_seconds", SMALLINT(5, unsigned=True), dflt="0"),
    col("auto_pause_precall", enum(*YN), dflt="N"),
    col("auto_pause_precall_code", VARCHAR(6), dflt="PRECAL"),
    col("callback_hours_block", TINYINT(2), dflt="0"),
    col("disable_alter_custdata", enum(*YN), dflt="N"),
    col("disable_alter_custphone", enum("Y", "N", "HIDE"), dflt="Y"),
)

vicidial_campaign_agents = _table(
    "vicidial_campaign_agents",
    col("user", VARCHAR(20)),
    col("campaign_id", VARCHAR(8)),
    col("campaign_rank", SMALLINT(5), dflt="0"),
    col("campaign_weight", TINYINT(3), dflt="0"),
    col("calls_today", SMALLINT(5, unsigned=True), dflt="0"),
    col("group_web_vars", VARCHAR(255), dflt=""),
    col("campaign_grade", TINYINT(2, unsigned=True), dflt="1"),
    sa.UniqueConstraint("user", "campaign_id", name="vlca_user_campaign_id"),
)

vicidial_statuses = _table(
    "vicidial_statuses",
    _pk("status", VARCHAR(6)),
    col("status_name", VARCHAR(30)),
    col("selectable", enum(*YN)),
    col("human_answered", enum(*YN), nullable=False, dflt="N"),
    col("category", VARCHAR(20), dflt="UNDEFINED"),
    col("sale", enum(*YN), dflt="N"),
    col("dnc", enum(*YN), dflt="N"),
    col("customer_contact", enum(*YN), dflt="N"),
    col("not_interested", enum(*YN), dflt="N"),
    col("unworkable", enum(*YN), dflt="N"),
    col("scheduled_callback", enum(*YN), dflt="N"),
    col("completed", enum(*YN), dflt="N"),
    col("min_sec", INT(5, unsigned=True), dflt="0"),
    col("max_sec", INT(5, unsigned=True), dflt="0"),
    col("answering_machine", enum(*YN), dflt="N"),
)

vicidial_campaign_statuses = _table(
    "vicidial_campaign_statuses",
    col("status", VARCHAR(6), nullable=False),
    col("status_name", VARCHAR(30)),
    col("selectable", enum(*YN)),
    col("campaign_id", VARCHAR(20)),
    col("human_answered", enum(*YN), nullable=False, dflt="N"),
    col("category", VARCHAR(20), dflt="UNDEFINED"),
    col("sale", enum(*YN), dflt="N"),
    col("dnc", enum(*YN), dflt="N"),
    col("customer_contact", enum(*YN), dflt="N"),
    col("not_interested", enum(*YN), dflt="N"),
    col("unworkable", enum(*YN), dflt="N"),
    col("scheduled_callback", enum(*YN), dflt="N"),
    col("completed", enum(*YN), dflt="N"),
    col("min_sec", INT(5, unsigned=True), dflt="0"),
    col("max_sec", INT(5, unsigned=True), dflt="0"),
    col("answering_machine", enum(*YN), dflt="N"),
    sa.Index("vcs_campaign_id", "campaign_id"),
    sa.UniqueConstraint("status", "campaign_id", name="vcs_status_campaign"),
)

vicidial_pause_codes = _table(
    "vicidial_pause_codes",
    col("pause_code", VARCHAR(6), nullable=False),
    col("pause_code_name", VARCHAR(30)),
    col("billable", enum("NO", "YES", "HALF"), dflt="NO"),
    col("campaign_id", VARCHAR(8)),
    col("time_limit", SMALLINT(5, unsigned=True), dflt="65000"),
    col("require_mgr_approval", enum("NO", "YES"), dflt="NO"),
    sa.Index("vpc_campaign_id", "campaign_id"),
    sa.UniqueConstraint("pause_code", "campaign_id", name="vpc_code_campaign"),
)

vicidial_lists = _table(
    "vicidial_lists",
    _pk("list_id", LIST_ID),
    col("list_name", VARCHAR(30)),
    col("campaign_id", VARCHAR(8)),
    col("active", enum(*YN)),
    col("list_description", VARCHAR(255)),
    col("list_changedate", DATETIME()),
    col("list_lastcalldate", DATETIME()),
    col("reset_time", VARCHAR(100), dflt=""),
    col("agent_script_override", VARCHAR(20), dflt=""),
    col("campaign_cid_override", VARCHAR(20), dflt=""),
    col("am_message_exten_override", VARCHAR(100), dflt=""),
    col("drop_inbound_group_override", VARCHAR(20), dflt=""),
    col("web_form_address", TEXT()),
    col("time_zone_setting",
        enum("COUNTRY_AND_AREA_CODE", "POSTAL_CODE", "NANPA_PREFIX", "OWNER_TIME_ZONE_CODE"),
        dflt="COUNTRY_AND_AREA_CODE"),
    col("expiration_date", DATE(), dflt="2099-12-31"),
    col("default_xfer_group", VARCHAR(20), dflt="---NONE---"),
)

vicidial_list = _table(
    "vicidial_list",
    auto_pk("lead_id"),
    col("entry_date", DATETIME()),
    updated_timestamp("modify_date"),
    col("status", VARCHAR(6)),
    col("user", VARCHAR(20)),
    col("vendor_lead_code", VARCHAR(20)),
    col("source_id", VARCHAR(50)),
    col("list_id", LIST_ID, nullable=False, dflt="0"),
    col("gmt_offset_now", DECIMAL(4, 2), dflt="0.00"),
    col("called_since_last_reset", enum(*CALLED_SINCE_LAST_RESET), dflt="N"),
    col("phone_code", VARCHAR(10)),
    col("phone_number", VARCHAR(18), nullable=False),
    col("title", VARCHAR(4)),
    col("first_name", VARCHAR(30)),
    col("middle_initial", VARCHAR(1)),
    col("last_name", VARCHAR(30)),
    col("address1", VARCHAR(100)),
    col("address2", VARCHAR(100)),
    col("address3", VARCHAR(100)),
    col("city", VARCHAR(50)),
    col("state", VARCHAR(2)),
    col("province", VARCHAR(50)),
    col("postal_code", VARCHAR(10)),
    col("country_code", VARCHAR(3)),
    col("gender", enum("M", "F", "U"), dflt="U"),
    col("date_of_birth", DATE()),
    col("alt_phone", VARCHAR(12)),
    col("email", VARCHAR(70)),
    col("security_phrase", VARCHAR(100)),
    col("comments", VARCHAR(255)),
    col("called_count", SMALLINT(5, unsigned=True), dflt="0"),
    col("last_local_call_time", DATETIME()),
    col("rank", SMALLINT(5), nullable=False, dflt="0"),
    col("owner", VARCHAR(20), dflt=""),
    col("entry_list_id", LIST_ID, nullable=False, dflt="0"),
    sa.Index("phone_number", "phone_number"),
    sa.Index("list_id", "list_id"),
    sa.Index("status", "status"),
    sa.Index("vendor_lead_code", "vendor_lead_code"),
)

vicidial_hopper = _table(
    "vicidial_hopper",
    auto_pk("hopper_id"),
    col("lead_id", INT9U, nullable=False),
    col("campaign_id", VARCHAR(8)),
    col("status", enum("READY", "QUEUE", "INCALL", "DONE", "HOLD", "DNC", "RHOLD", "RQUEUE"), dflt="READY"),
    col("user", VARCHAR(20)),
    col("list_id", LIST_ID, nullable=False),
    col("gmt_offset_now", DECIMAL(4, 2), dflt="0.00"),
    col("state", VARCHAR(2), dflt=""),
    col("alt_dial", VARCHAR(6), dflt="NONE"),
    col("priority", TINYINT(2), dflt="0"),
    col("source", VARCHAR(1), dflt=""),
    col("vendor_lead_code", VARCHAR(20), dflt=""),
    sa.Index("vh_lead_id", "lead_id"),
)

vicidial_inbound_groups = _table(
    "vicidial_inbound_groups",
    _pk("group_id", VARCHAR(20)),
    col("group_name", VARCHAR(30)),
    col("group_color", VARCHAR(7)),
    col("active", enum(*YN)),
    col("web_form_address", TEXT()),
    col("voicemail_ext", VARCHAR(10)),
    col("next_agent_call", VARCHAR(40), dflt="longest_wait_time"),
    col("fronter_display", enum(*YN), dflt="Y"),
    col("ingroup_script", VARCHAR(20)),
    col("drop_call_seconds", SMALLINT(4, unsigned=True), dflt="360"),
    col("call_time_id", VARCHAR(20), dflt="24hours"),
    col("default_xfer_group", VARCHAR(20), dflt="---NONE---"),
    col("queue_priority", TINYINT(2), dflt="0"),
    col("drop_inbound_group", VARCHAR(20), dflt="---NONE---"),
    col("ingroup_recording_override",
        enum("DISABLED", "NEVER", "ONDEMAND", "ALLCALLS", "ALLFORCE"), dflt="DISABLED"),
    col("ingroup_rec_filename", VARCHAR(50), dflt="NONE"),
    col("user_group", VARCHAR(20), dflt="---ALL---"),
    col("group_calldate", DATETIME()),
    col("dial_ingroup_cid", VARCHAR(20), dflt=""),
    col("group_handling", enum("PHONE", "EMAIL", "CHAT"), dflt="PHONE"),
)

vicidial_inbound_group_agents = _table(
    "vicidial_inbound_group_agents",
    col("user", VARCHAR(20)),
    col("group_id", VARCHAR(20)),
    col("group_rank", SMALLINT(5), dflt="0"),
    col("group_weight", TINYINT(1), dflt="0"),
    col("calls_today", SMALLINT(5, unsigned=True), dflt="0"),
    col("group_web_vars", VARCHAR(255), dflt=""),
    col("group_grade", TINYINT(2, unsigned=True), dflt="1"),
    col("group_type", VARCHAR(1), dflt="C"),
    col("calls_today_filtered", SMALLINT(5, unsigned=True), dflt="0"),
    col("daily_limit", SMALLINT(5), dflt="-1"),
    sa.UniqueConstraint("user", "group_id", name="viga_user_group_id"),
)

vicidial_live_inbound_agents = _table(
    "vicidial_live_inbound_agents",
    col("user", VARCHAR(20)),
    col("group_id", VARCHAR(20)),
    col("group_weight", TINYINT(1), dflt="0"),
    col("calls_today", SMALLINT(5, unsigned=True), dflt="0"),
    col("last_call_time", DATETIME()),
    col("last_call_finish", DATETIME()),
    col("group_grade", TINYINT(2, unsigned=True), dflt="1"),
    col("calls_today_filtered", SMALLINT(5, unsigned=True), dflt="0"),
    col("last_call_time_filtered", DATETIME()),
    col("last_call_finish_filtered", DATETIME()),
    col("daily_limit", SMALLINT(5), dflt="-1"),
    sa.UniqueConstraint("user", "group_id", name="vlia_user_group_id"),
    sa.Index("vlia_group_id", "group_id"),
)

vicidial_user_closer_log = _table(
    "vicidial_user_closer_log",
    col("user", VARCHAR(20)),
    col("campaign_id", VARCHAR(20)),
    col("event_date", DATETIME()),
    col("blended", enum("1", "0"), dflt="0"),
    col("closer_campaigns", TEXT()),
    col("manager_change", VARCHAR(20), dflt=""),
    sa.Index("vucl_user", "user"),
)

groups_alias = _table(
    "groups_alias",
    _pk("group_alias_id", VARCHAR(30)),
    col("group_alias_name", VARCHAR(50)),
    col("caller_id_number", VARCHAR(20)),
    col("caller_id_name", VARCHAR(20)),
    col("active", enum(*YN)),
    col("user_group", VARCHAR(20), dflt="---ALL---"),
)

vicidial_dnc = _table(
    "vicidial_dnc",
    _pk("phone_number", VARCHAR(18)),
)

vicidial_campaign_dnc = _table(
    "vicidial_campaign_dnc",
    col("phone_number", VARCHAR(18), nullable=False),
    col("campaign_id", VARCHAR(8), nullable=False),
    sa.UniqueConstraint("phone_number", "campaign_id", name="phonecamp"),
    sa.Index("vcd_campaign_id", "campaign_id"),
)

vicidial_dnc_log = _table(
    "vicidial_dnc_log",
    col("phone_number", VARCHAR(18), nullable=False),
    col("campaign_id", VARCHAR(8), nullable=False),
    col("action", enum("add", "delete"), dflt="add"),
    col("action_date", DATETIME(), nullable=False),
    col("user", VARCHAR(20), dflt=""),
    sa.Index("vdl_phone_number", "phone_number"),
)

audio_store_details = _table(
    "audio_store_details",
    col("audio_filename", VARCHAR(250), nullable=False),
    col("audio_format", VARCHAR(10), dflt="unknown"),
    col("audio_filesize", BIGINT(12, unsigned=True), dflt="0"),
    col("audio_epoch", BIGINT(20, unsigned=True), dflt="0"),
    col("audio_length", BIGINT(12, unsigned=True), dflt="0"),
    col("wav_format_details", VARCHAR(255), dflt=""),
    col("wav_asterisk_valid", enum("", "GOOD", "BAD", "NA"), dflt=""),
    sa.UniqueConstraint("audio_filename", name="audio_filename"),
)

vicidial_settings_containers = _table(
    "vicidial_settings_containers",
    _pk("container_id", VARCHAR(40)),
    col("container_notes", VARCHAR(255), dflt=""),
    col("container_type", VARCHAR(40), dflt="OTHER"),
    col("user_group", VARCHAR(20), dflt="---ALL---"),
    col("container_entry", MEDIUMTEXT()),
)

# --------------------------------------------------------------------------------------------
# Live agent state and session bookkeeping
# --------------------------------------------------------------------------------------------

vicidial_live_agents = _table(
    "vicidial_live_agents",
    auto_pk("live_agent_id"),
    col("user", VARCHAR(20)),
    col("server_ip", VARCHAR(15), nullable=False),
    col("conf_exten", VARCHAR(20)),
    col("extension", VARCHAR(100)),
    col("status", enum(*VLA_STATUSES), dflt="PAUSED"),
    col("lead_id", INT9U, nullable=False),
    col("campaign_id", VARCHAR(8)),
    col("uniqueid", VARCHAR(20)),
    col("callerid", VARCHAR(20)),
    col("channel", VARCHAR(100)),
    col("random_id", INT(8, unsigned=True)),
    col("last_call_time", DATETIME()),
    updated_timestamp("last_update_time"),
    col("last_call_finish", DATETIME()),
    col("closer_campaigns", TEXT()),
    col("call_server_ip", VARCHAR(15)),
    col("user_level", TINYINT(2), dflt="0"),
    col("comments", VARCHAR(20)),
    col("campaign_weight", TINYINT(1), dflt="0"),
    col("calls_today", SMALLINT(5, unsigned=True), dflt="0"),
    col("external_hangup", VARCHAR(1), dflt=""),
    col("external_status", VARCHAR(255), dflt=""),
    col("external_pause", VARCHAR(20), dflt=""),
    col("external_dial", VARCHAR(100), dflt=""),
    col("external_ingroups", TEXT()),
    col("external_blended", enum(*ZO), dflt="0"),
    col("external_igb_set_user", VARCHAR(20), dflt=""),
    col("external_update_fields", enum(*ZO), dflt="0"),
    col("external_update_fields_data", VARCHAR(255), dflt=""),
    col("external_timer_action", VARCHAR(20), dflt=""),
    col("external_timer_action_message", VARCHAR(255), dflt=""),
    col("external_timer_action_seconds", MEDIUMINT(7), dflt="-1"),
    col("agent_log_id", INT9U, dflt="0"),
    col("last_state_change", DATETIME()),
    col("agent_territories", TEXT()),
    col("outbound_autodial", enum(*YN), dflt="N"),
    col("manager_ingroup_set", enum("Y", "N", "SET"), dflt="N"),
    col("ra_user", VARCHAR(20), dflt=""),
    col("ra_extension", VARCHAR(100), dflt=""),
    col("external_dtmf", VARCHAR(100), dflt=""),
    col("external_transferconf", VARCHAR(120), dflt=""),
    col("external_park", VARCHAR(40), dflt=""),
    col("external_timer_action_destination", VARCHAR(100), dflt=""),
    col("on_hook_agent", enum(*YN), dflt="N"),
    col("on_hook_ring_time", SMALLINT(5), dflt="15"),
    col("ring_callerid", VARCHAR(20), dflt=""),
    col("last_inbound_call_time", DATETIME()),
    col("last_inbound_call_finish", DATETIME()),
    col("campaign_grade", TINYINT(2, unsigned=True), dflt="1"),
    col("external_recording", VARCHAR(20), dflt=""),
    col("external_pause_code", VARCHAR(6), dflt=""),
    col("pause_code", VARCHAR(6), dflt=""),
    col("preview_lead_id", INT9U, dflt="0"),
    col("external_lead_id", INT9U, dflt="0"),
    col("last_inbound_call_time_filtered", DATETIME()),
    col("last_inbound_call_finish_filtered", DATETIME()),
    col("dial_campaign_id", VARCHAR(8), dflt=""),
    sa.Index("vla_user", "user"),
    sa.Index("vla_lead_id", "lead_id"),
    sa.Index("vla_random_id", "random_id"),
    sa.Index("vla_last_update_time", "last_update_time"),
    sa.Index("vla_callerid", "callerid"),
)

vicidial_live_agents_details = _table(
    "vicidial_live_agents_details",
    _pk("user", VARCHAR(20)),
    col("update_date", DATETIME()),
    col("web_ip", VARCHAR(45), dflt=""),
    col("latency", MEDIUMINT(7), dflt="0"),
    col("latency_min_avg", MEDIUMINT(7), dflt="0"),
    col("latency_min_peak", MEDIUMINT(7), dflt="0"),
    col("latency_hour_avg", MEDIUMINT(7), dflt="0"),
    col("latency_hour_peak", MEDIUMINT(7), dflt="0"),
    col("latency_today_avg", MEDIUMINT(7), dflt="0"),
    col("latency_today_peak", MEDIUMINT(7), dflt="0"),
)

vicidial_agent_latency_log = _table(
    "vicidial_agent_latency_log",
    col("user", VARCHAR(20), dflt=""),
    col("log_date", DATETIME(), nullable=False),
    col("latency", MEDIUMINT(7), dflt="0"),
    col("web_ip", VARCHAR(45), dflt=""),
    sa.Index("vall_user", "user"),
)

vicidial_conferences = _table(
    "vicidial_conferences",
    _pk("conf_exten", INT(7, unsigned=True)),
    sa.Column("server_ip", VARCHAR(15), primary_key=True, nullable=False),
    col("extension", VARCHAR(100)),
    col("leave_3way", enum(*ZO), dflt="0"),
    col("leave_3way_datetime", DATETIME()),
)

vicidial_confbridges = _table(
    "vicidial_confbridges",
    _pk("conf_exten", INT(7, unsigned=True)),
    sa.Column("server_ip", VARCHAR(15), primary_key=True, nullable=False),
    col("extension", VARCHAR(100)),
    col("leave_3way", enum(*ZO), dflt="0"),
    col("leave_3way_datetime", DATETIME()),
)

vicidial_session_data = _table(
    "vicidial_session_data",
    col("session_name", VARCHAR(40), nullable=False),
    col("user", VARCHAR(20)),
    col("campaign_id", VARCHAR(8)),
    col("server_ip", VARCHAR(15), nullable=False),
    col("conf_exten", VARCHAR(20)),
    col("extension", VARCHAR(100), nullable=False),
    col("login_time", DATETIME(), nullable=False),
    col("webphone_url", TEXT()),
    col("agent_login_call", TEXT()),
    sa.UniqueConstraint("session_name", name="session_name"),
    sa.Index("vsd_user", "user"),
)

web_client_sessions = _table(
    "web_client_sessions",
    col("extension", VARCHAR(100), nullable=False),
    col("server_ip", VARCHAR(15), nullable=False),
    col("program", enum("agc", "vicidial", "monitor", "other"), dflt="agc"),
    col("start_time", DATETIME(), nullable=False),
    col("session_name", VARCHAR(40), nullable=False),
    sa.UniqueConstraint("session_name", name="wcs_session_name"),
)

vicidial_sessions_recent = _table(
    "vicidial_sessions_recent",
    col("lead_id", INT9U),
    col("server_ip", VARCHAR(15), nullable=False),
    col("call_date", DATETIME()),
    col("user", VARCHAR(20)),
    col("campaign_id", VARCHAR(20)),
    col("conf_exten", VARCHAR(20)),
    col("call_type", VARCHAR(1), dflt=""),
    sa.Index("vsr_lead_id", "lead_id"),
)

vicidial_manual_dial_queue = _table(
    "vicidial_manual_dial_queue",
    auto_pk("mdq_id"),
    col("user", VARCHAR(20)),
    col("phone_number", VARCHAR(100), dflt=""),
    col("entry_time", DATETIME()),
    col("status", enum("READY", "QUEUE"), dflt="READY"),
    col("external_dial", VARCHAR(100), dflt=""),
    sa.Index("vmdq_user", "user"),
)

vicidial_agent_notifications = _table(
    "vicidial_agent_notifications",
    auto_pk("notification_id", mysql.INTEGER(10, unsigned=True)),
    col("entry_date", DATETIME(), server_default=now_local()),
    col("recipient", VARCHAR(20)),
    col("recipient_type", enum("USER", "USER_GROUP", "CAMPAIGN", "ALT_DISPLAY")),
    col("notification_date", DATETIME(), server_default=now_local()),
    col("notification_retry", enum(*YN), dflt="N"),
    col("notification_text", TEXT()),
    col("text_size", TINYINT(3, unsigned=True), dflt=12),
    col("text_font", VARCHAR(30), dflt="Arial"),
    col("text_weight", VARCHAR(30), dflt="bold"),
    col("text_color", VARCHAR(15)),
    col("show_confetti", enum(*YN), dflt="N"),
    col("confetti_options", VARCHAR(15)),
    col("notification_status", enum("QUEUED", "READY", "SENT", "DEAD")),
    sa.Index("van_recipient", "recipient"),
)

vicidial_3way_press_live = _table(
    "vicidial_3way_press_live",
    col("call_date", DATETIME6()),
    col("caller_code", VARCHAR(30), dflt=""),
    col("user", VARCHAR(20)),
    col("lead_id", INT9U),
    col("phone_number", VARCHAR(18), dflt=""),
    col("status", VARCHAR(40)),
    sa.Index("v3pl_user", "user"),
)

vicidial_3way_press_multi = _table(
    "vicidial_3way_press_multi",
    _pk("user", VARCHAR(20)),
    col("call_date", DATETIME()),
    col("phone_numbers", VARCHAR(255), dflt=""),
    col("phone_numbers_ct", TINYINT(3), dflt="0"),
    col("status", VARCHAR(40), dflt=""),
)

vicidial_lead_messages = _table(
    "vicidial_lead_messages",
    col("lead_id", INT9U, nullable=False),
    col("call_date", DATETIME()),
    col("user", VARCHAR(20)),
    col("played", TINYINT(3), dflt="0"),
    col("message_entry", MEDIUMTEXT()),
    sa.Index("vlm_lead_id", "lead_id"),
)

vicidial_long_extensions = _table(
    "vicidial_long_extensions",
    auto_pk("le_id"),
    col("server_ip", VARCHAR(15)),
    col("entry_time", DATETIME()),
    col("extension", VARCHAR(1000)),
)

# --------------------------------------------------------------------------------------------
# Calls and call logs
# --------------------------------------------------------------------------------------------

vicidial_auto_calls = _table(
    "vicidial_auto_calls",
    auto_pk("auto_call_id"),
    col("server_ip", VARCHAR(15), nullable=False),
    col("campaign_id", VARCHAR(20)),
    col("status", enum("SENT", "RINGING", "LIVE", "XFER", "PAUSED", "CLOSER", "BUSY", "DISCONNECT", "IVR"),
        dflt="PAUSED"),
    col("lead_id", INT9U, nullable=False),
    col("uniqueid", VARCHAR(20)),
    col("callerid", VARCHAR(20)),
    col("channel", VARCHAR(100)),
    col("phone_code", VARCHAR(10)),
    col("phone_number", VARCHAR(18)),
    col("call_time", DATETIME()),
    col("call_type", enum("IN", "OUT", "OUTBALANCE"), dflt="OUT"),
    col("stage", VARCHAR(20), dflt="START"),
    updated_timestamp("last_update_time"),
    col("alt_dial", VARCHAR(6), dflt="NONE"),
    col("queue_priority", TINYINT(2), dflt="0"),
    col("agent_only", VARCHAR(20), dflt=""),
    col("agent_grab", VARCHAR(20), dflt=""),
    col("queue_position", SMALLINT(4, unsigned=True), dflt="1"),
    col("extension", VARCHAR(100), dflt=""),
    col("agent_grab_extension", VARCHAR(100), dflt=""),
    sa.Index("vac_uniqueid", "uniqueid"),
    sa.Index("vac_callerid", "callerid"),
    sa.Index("vac_call_time", "call_time"),
)

vicidial_log = _table(
    "vicidial_log",
    _pk("uniqueid", VARCHAR(20)),
    col("lead_id", INT9U, nullable=False),
    col("list_id", LIST_ID),
    col("campaign_id", VARCHAR(8)),
    col("call_date", DATETIME()),
    col("start_epoch", INT10U),
    col("end_epoch", INT10U),
    col("length_in_sec", INT(10)),
    col("status", VARCHAR(6)),
    col("phone_code", VARCHAR(10)),
    col("phone_number", VARCHAR(18)),
    col("user", VARCHAR(20)),
    col("comments", VARCHAR(255)),
    col("processed", enum(*YN)),
    col("user_group", VARCHAR(20)),
    col("term_reason", enum("CALLER", "AGENT", "QUEUETIMEOUT", "ABANDON", "AFTERHOURS", "NONE", "SYSTEM"),
        dflt="NONE"),
    col("alt_dial", VARCHAR(6), dflt="NONE"),
    col("called_count", SMALLINT(5, unsigned=True), dflt="0"),
    sa.Index("vl_lead_id", "lead_id"),
    sa.Index("vl_call_date", "call_date"),
)

vicidial_log_extended = _table(
    "vicidial_log_extended",
    _pk("uniqueid", VARCHAR(50)),
    col("server_ip", VARCHAR(15)),
    col("call_date", DATETIME()),
    col("lead_id", INT9U),
    col("caller_code", VARCHAR(30), nullable=False),
    col("custom_call_id", VARCHAR(100)),
    col("start_url_processed", enum("N", "Y", "U"), dflt="N"),
    col("dispo_url_processed", enum("N", "Y", "U", "XY", "XU"), dflt="N"),
    col("multi_alt_processed", enum("N", "Y", "U"), dflt="N"),
    col("noanswer_processed", enum("N", "Y", "U"), dflt="N"),
    sa.Index("vle_lead_id", "lead_id"),
)

vicidial_closer_log = _table(
    "vicidial_closer_log",
    auto_pk("closecallid"),
    col("lead_id", INT9U, nullable=False),
    col("list_id", LIST_ID),
    col("campaign_id", VARCHAR(20)),
    col("call_date", DATETIME()),
    col("start_epoch", INT10U),
    col("end_epoch", INT10U),
    col("length_in_sec", INT(10)),
    col("status", VARCHAR(6)),
    col("phone_code", VARCHAR(10)),
    col("phone_number", VARCHAR(18)),
    col("user", VARCHAR(20)),
    col("comments", VARCHAR(255)),
    col("processed", enum(*YN)),
    col("queue_seconds", DECIMAL(7, 2), dflt="0"),
    col("user_group", VARCHAR(20)),
    col("xfercallid", INT9U),
    col("term_reason",
        enum("CALLER", "AGENT", "QUEUETIMEOUT", "ABANDON", "AFTERHOURS", "HOLDRECALLXFER", "HOLDTIME",
             "NOAGENT", "NONE", "MAXCALLS", "ACFILTER", "CLOSETIME"),
        dflt="NONE"),
    col("uniqueid", VARCHAR(20), nullable=False, dflt=""),
    col("agent_only", VARCHAR(20), dflt=""),
    col("queue_position", SMALLINT(4, unsigned=True), dflt="1"),
    col("called_count", SMALLINT(5, unsigned=True), dflt="0"),
    sa.Index("vcl_lead_id", "lead_id"),
    sa.Index("vcl_call_date", "call_date"),
    sa.Index("vcl_uniqueid", "uniqueid"),
)

vicidial_xfer_log = _table(
    "vicidial_xfer_log",
    auto_pk("xfercallid"),
    col("lead_id", INT9U, nullable=False),
    col("list_id", LIST_ID),
    col("campaign_id", VARCHAR(20)),
    col("call_date", DATETIME()),
    col("phone_code", VARCHAR(10)),
    col("phone_number", VARCHAR(18)),
    col("user", VARCHAR(20)),
    col("closer", VARCHAR(20)),
    col("front_uniqueid", VARCHAR(50), dflt=""),
    col("close_uniqueid", VARCHAR(50), dflt=""),
    sa.Index("vxl_lead_id", "lead_id"),
)

vicidial_agent_log = _table(
    "vicidial_agent_log",
    auto_pk("agent_log_id"),
    col("user", VARCHAR(20)),
    col("server_ip", VARCHAR(15), nullable=False),
    col("event_time", DATETIME()),
    col("lead_id", INT9U),
    col("campaign_id", VARCHAR(8)),
    col("pause_epoch", INT10U),
    col("pause_sec", SMALLINT(5, unsigned=True), dflt="0"),
    col("wait_epoch", INT10U),
    col("wait_sec", SMALLINT(5, unsigned=True), dflt="0"),
    col("talk_epoch", INT10U),
    col("talk_sec", SMALLINT(5, unsigned=True), dflt="0"),
    col("dispo_epoch", INT10U),
    col("dispo_sec", SMALLINT(5, unsigned=True), dflt="0"),
    col("status", VARCHAR(6)),
    col("user_group", VARCHAR(20)),
    col("comments", VARCHAR(20)),
    col("sub_status", VARCHAR(6)),
    col("dead_epoch", INT10U),
    col("dead_sec", SMALLINT(5, unsigned=True), dflt="0"),
    col("processed", enum(*YN), dflt="N"),
    col("uniqueid", VARCHAR(20), dflt=""),
    col("pause_type", enum("UNDEFINED", "SYSTEM", "AGENT", "API", "ADMIN"), dflt="UNDEFINED"),
    sa.Index("val_user", "user"),
    sa.Index("val_event_time", "event_time"),
    sa.Index("val_lead_id", "lead_id"),
)

vicidial_agent_function_log = _table(
    "vicidial_agent_function_log",
    auto_pk("agent_function_log_id"),
    col("agent_log_id", INT9U),
    col("user", VARCHAR(20)),
    col("function", VARCHAR(20)),
    col("event_time", DATETIME()),
    col("lead_id", INT9U),
    col("campaign_id", VARCHAR(8)),
    col("user_group", VARCHAR(20)),
    col("caller_code", VARCHAR(30), dflt=""),
    col("comments", VARCHAR(40), dflt=""),
    sa.Index("vafl_user", "user"),
)

vicidial_user_log = _table(
    "vicidial_user_log",
    auto_pk("user_log_id"),
    col("user", VARCHAR(20)),
    col("event", VARCHAR(50)),
    col("campaign_id", VARCHAR(8)),
    col("event_date", DATETIME()),
    col("event_epoch", INT10U),
    col("user_group", VARCHAR(20)),
    col("session_id", VARCHAR(20)),
    col("server_ip", VARCHAR(15)),
    col("extension", VARCHAR(50)),
    col("computer_ip", VARCHAR(30)),
    col("browser", VARCHAR(255)),
    col("data", VARCHAR(255)),
    col("phone_login", VARCHAR(15), dflt=""),
    col("server_phone", VARCHAR(15), dflt=""),
    col("phone_ip", VARCHAR(15), dflt=""),
    col("webserver", SMALLINT(5, unsigned=True), dflt="0"),
    col("login_url", INT9U, dflt="0"),
    col("browser_width", SMALLINT(5, unsigned=True), dflt="0"),
    col("browser_height", SMALLINT(5, unsigned=True), dflt="0"),
    sa.Index("vul_user", "user"),
)

vicidial_callbacks = _table(
    "vicidial_callbacks",
    auto_pk("callback_id"),
    col("lead_id", INT9U),
    col("list_id", LIST_ID),
    col("campaign_id", VARCHAR(8)),
    col("status", VARCHAR(10)),
    col("entry_time", DATETIME()),
    col("callback_time", DATETIME()),
    col("modify_date", DATETIME()),
    col("user", VARCHAR(20)),
    col("recipient", enum("USERONLY", "ANYONE")),
    col("comments", VARCHAR(255)),
    col("user_group", VARCHAR(20)),
    col("lead_status", VARCHAR(6), dflt="CALLBK"),
    col("customer_timezone", VARCHAR(100), dflt=""),
    col("customer_timezone_diff", VARCHAR(6), dflt=""),
    col("customer_time", DATETIME()),
    sa.Index("vcb_lead_id", "lead_id"),
    sa.Index("vcb_user", "user"),
)

vicidial_call_notes = _table(
    "vicidial_call_notes",
    auto_pk("notesid"),
    col("lead_id", INT9U, nullable=False),
    col("vicidial_id", VARCHAR(20)),
    col("call_date", DATETIME()),
    col("order_id", VARCHAR(20)),
    col("appointment_date", DATE()),
    col("appointment_time", TIME()),
    col("call_notes", TEXT()),
    sa.Index("vcn_lead_id", "lead_id"),
)

vicidial_dial_log = _table(
    "vicidial_dial_log",
    col("caller_code", VARCHAR(30), nullable=False),
    col("lead_id", INT9U, dflt="0"),
    col("server_ip", VARCHAR(15)),
    col("call_date", DATETIME()),
    col("extension", VARCHAR(100), dflt=""),
    col("channel", VARCHAR(100), dflt=""),
    col("context", VARCHAR(100), dflt=""),
    col("timeout", MEDIUMINT(7, unsigned=True), dflt="0"),
    col("outbound_cid", VARCHAR(100), dflt=""),
    col("sip_hangup_cause", SMALLINT(4, unsigned=True), dflt="0"),
    col("sip_hangup_reason", VARCHAR(50), dflt=""),
    col("uniqueid", VARCHAR(50), dflt=""),
    sa.Index("vdl_caller_code", "caller_code"),
    sa.Index("vdl_call_date", "call_date"),
)

vicidial_dial_cid_log = _table(
    "vicidial_dial_cid_log",
    col("caller_code", VARCHAR(30), nullable=False),
    col("call_date", DATETIME()),
    col("call_type", enum("OUT", "OUTBALANCE", "MANUAL", "OVERRIDE", "3WAY"), dflt="OUT"),
    col("call_alt", VARCHAR(10), dflt="NONE"),
    col("outbound_cid", VARCHAR(20), dflt=""),
    col("outbound_cid_type", VARCHAR(20), dflt=""),
    sa.Index("vdcl_caller_code", "caller_code"),
)

vicidial_user_dial_log = _table(
    "vicidial_user_dial_log",
    col("caller_code", VARCHAR(30), nullable=False),
    col("user", VARCHAR(20), dflt=""),
    col("call_date", DATETIME()),
    col("call_type", VARCHAR(10), dflt=""),
    col("notes", VARCHAR(100), dflt=""),
    sa.Index("vudl_user", "user"),
)

vicidial_lead_24hour_calls = _table(
    "vicidial_lead_24hour_calls",
    col("lead_id", INT9U, nullable=False),
    col("list_id", LIST_ID, dflt="0"),
    col("call_date", DATETIME()),
    col("phone_number", VARCHAR(18)),
    col("phone_code", VARCHAR(10)),
    col("state", VARCHAR(2)),
    col("call_type", enum("MANUAL", "AUTO", ""), dflt=""),
    sa.Index("vl24_lead_id", "lead_id"),
)

user_call_log = _table(
    "user_call_log",
    auto_pk("user_call_id"),
    col("user", VARCHAR(20)),
    col("call_date", DATETIME()),
    col("call_type", VARCHAR(20)),
    col("server_ip", VARCHAR(15)),
    col("phone_number", VARCHAR(100)),
    col("number_dialed", VARCHAR(100)),
    col("lead_id", INT9U),
    col("callerid", VARCHAR(20)),
    col("group_alias_id", VARCHAR(30)),
    col("preset_name", VARCHAR(40), dflt=""),
    col("campaign_id", VARCHAR(20), dflt=""),
    col("customer_hungup", enum("BEFORE_CALL", "DURING_CALL", ""), dflt=""),
    col("customer_hungup_seconds", SMALLINT(5, unsigned=True), dflt="0"),
    col("xfer_hungup", VARCHAR(20), dflt=""),
    col("xfer_hungup_datetime", DATETIME()),
    sa.Index("ucl_user", "user"),
)

call_log = _table(
    "call_log",
    _pk("uniqueid", VARCHAR(20)),
    col("channel", VARCHAR(100)),
    col("channel_group", VARCHAR(30)),
    col("type", VARCHAR(10)),
    col("server_ip", VARCHAR(15)),
    col("extension", VARCHAR(100)),
    col("number_dialed", VARCHAR(15)),
    col("caller_code", VARCHAR(20)),
    col("start_time", DATETIME()),
    col("start_epoch", INT(10)),
    col("end_time", DATETIME()),
    col("end_epoch", INT(10)),
    col("length_in_sec", INT(10)),
    col("length_in_min", DOUBLE(8, 2)),
    sa.Index("cl_caller_code", "caller_code"),
)

recording_log = _table(
    "recording_log",
    auto_pk("recording_id", mysql.INTEGER(10, unsigned=True)),
    col("channel", VARCHAR(100)),
    col("server_ip", VARCHAR(15)),
    col("extension", VARCHAR(100)),
    col("start_time", DATETIME()),
    col("start_epoch", INT10U),
    col("end_time", DATETIME()),
    col("end_epoch", INT10U),
    col("length_in_sec", MEDIUMINT(8, unsigned=True)),
    col("length_in_min", DOUBLE(8, 2)),
    col("filename", VARCHAR(100)),
    col("location", VARCHAR(255)),
    col("lead_id", INT9U),
    col("user", VARCHAR(20)),
    col("vicidial_id", VARCHAR(20)),
    sa.Index("rl_filename", "filename"),
    sa.Index("rl_lead_id", "lead_id"),
    sa.Index("rl_user", "user"),
)

routing_initiated_recordings = _table(
    "routing_initiated_recordings",
    col("recording_id", INT10U, nullable=False),
    col("filename", VARCHAR(100)),
    col("launch_time", DATETIME()),
    col("lead_id", INT9U),
    col("vicidial_id", VARCHAR(20)),
    col("user", VARCHAR(20)),
    col("processed", TINYINT(1), dflt="0"),
    sa.Index("rir_user", "user"),
)

parked_channels = _table(
    "parked_channels",
    _pk("channel", VARCHAR(100)),
    col("server_ip", VARCHAR(15), nullable=False),
    col("channel_group", VARCHAR(30)),
    col("extension", VARCHAR(100)),
    col("parked_by", VARCHAR(100)),
    col("parked_time", DATETIME()),
)

parked_channels_recent = _table(
    "parked_channels_recent",
    col("channel", VARCHAR(100), nullable=False),
    col("server_ip", VARCHAR(15), nullable=False),
    col("channel_group", VARCHAR(30)),
    col("park_end_time", DATETIME()),
    sa.Index("pcr_channel_group", "channel_group"),
)

park_log = _table(
    "park_log",
    col("uniqueid", VARCHAR(20), dflt=""),
    col("status", VARCHAR(10)),
    col("channel", VARCHAR(100)),
    col("channel_group", VARCHAR(30)),
    col("server_ip", VARCHAR(15)),
    col("parked_time", DATETIME()),
    col("grab_time", DATETIME()),
    col("hangup_time", DATETIME()),
    col("parked_sec", INT(10)),
    col("talked_sec", INT(10)),
    col("extension", VARCHAR(100)),
    col("user", VARCHAR(20)),
    col("lead_id", INT9U, dflt="0"),
    sa.Index("pl_uniqueid", "uniqueid"),
)

live_channels = _table(
    "live_channels",
    col("channel", VARCHAR(100), nullable=False),
    col("server_ip", VARCHAR(15), nullable=False),
    col("channel_group", VARCHAR(30)),
    col("extension", VARCHAR(100)),
    col("channel_data", VARCHAR(100)),
    sa.Index("lc_server_ip", "server_ip"),
)

live_sip_channels = _table(
    "live_sip_channels",
    col("channel", VARCHAR(100), nullable=False),
    col("server_ip", VARCHAR(15), nullable=False),
    col("channel_group", VARCHAR(30)),
    col("extension", VARCHAR(100)),
    col("channel_data", VARCHAR(100)),
    sa.Index("lsc_server_ip", "server_ip"),
)

vicidial_manager = _table(
    "vicidial_manager",
    auto_pk("man_id"),
    col("uniqueid", VARCHAR(20)),
    col("entry_date", DATETIME()),
    col("status", enum("NEW", "QUEUE", "SENT", "UPDATED", "DEAD")),
    col("response", enum(*YN)),
    col("server_ip", VARCHAR(15), nullable=False),
    col("channel", VARCHAR(100)),
    col("action", VARCHAR(20)),
    col("callerid", VARCHAR(20)),
    col("cmd_line_b", VARCHAR(100)),
    col("cmd_line_c", VARCHAR(100)),
    col("cmd_line_d", VARCHAR(200)),
    col("cmd_line_e", VARCHAR(100)),
    col("cmd_line_f", VARCHAR(100)),
    col("cmd_line_g", VARCHAR(100)),
    col("cmd_line_h", VARCHAR(100)),
    col("cmd_line_i", VARCHAR(50)),
    col("cmd_line_j", VARCHAR(50)),
    col("cmd_line_k", VARCHAR(100)),
    sa.Index("vm_callerid", "callerid"),
    sa.Index("vm_uniqueid", "uniqueid"),
    sa.Index("vm_serverstat", "server_ip", "status"),
)

vicidial_email_list = _table(
    "vicidial_email_list",
    auto_pk("email_row_id", mysql.INTEGER(10, unsigned=True)),
    col("lead_id", INT9U),
    col("email_date", DATETIME()),
    col("protocol", VARCHAR(10), dflt="IMAP"),
    col("email_to", VARCHAR(255)),
    col("email_from", VARCHAR(255)),
    col("email_from_name", VARCHAR(255)),
    col("subject", TEXT()),
    col("mime_type", TEXT()),
    col("content_type", TEXT()),
    col("message", TEXT()),
    col("group_id", VARCHAR(20)),
    col("status", VARCHAR(10)),
    col("user", VARCHAR(20)),
    col("direction", enum("INBOUND", "OUTBOUND"), dflt="INBOUND"),
    col("uniqueid", VARCHAR(20)),
    sa.Index("vel_group_status", "group_id", "status"),
)

vicidial_ccc_log = _table(
    "vicidial_ccc_log",
    col("call_date", DATETIME()),
    col("remote_call_id", VARCHAR(30)),
    col("local_call_id", VARCHAR(30)),
    col("lead_id", INT9U),
    col("uniqueid", VARCHAR(20)),
    col("channel", VARCHAR(100)),
    col("server_ip", VARCHAR(15)),
    col("list_id", LIST_ID),
    col("container_id", VARCHAR(40), dflt=""),
    col("remote_lead_id", INT9U),
    sa.Index("vccl_lead_id", "lead_id"),
)

vicidial_url_log = _table(
    "vicidial_url_log",
    auto_pk("url_log_id"),
    col("uniqueid", VARCHAR(50), nullable=False),
    col("url_date", DATETIME()),
    col("url_type", VARCHAR(10), dflt=""),
    col("response_sec", SMALLINT(5, unsigned=True), dflt="0"),
    col("url", TEXT()),
    col("url_response", TEXT()),
    sa.Index("vurl_uniqueid", "uniqueid"),
)

# --------------------------------------------------------------------------------------------
# API / admin / AJAX logs
# --------------------------------------------------------------------------------------------


def _api_log_columns() -> list[Any]:
    return [
        col("user", VARCHAR(20), nullable=False),
        col("api_date", DATETIME()),
        col("api_script", VARCHAR(10)),
        col("function", VARCHAR(20), nullable=False),
        col("agent_user", VARCHAR(20)),
        col("value", VARCHAR(255)),
        col("result", VARCHAR(10)),
        col("result_reason", VARCHAR(255)),
        col("source", VARCHAR(20)),
        col("data", TEXT()),
        col("run_time", VARCHAR(20), dflt="0"),
        col("webserver", SMALLINT(5, unsigned=True), dflt="0"),
        col("api_url", INT9U, dflt="0"),
    ]


vicidial_api_log = _table(
    "vicidial_api_log",
    auto_pk("api_id"),
    *_api_log_columns(),
    sa.Index("api_date", "api_date"),
)

vicidial_api_log_archive = _table(
    "vicidial_api_log_archive",
    _pk("api_id", INT9U),
    *_api_log_columns(),
    sa.Index("api_date_archive", "api_date"),
)

vicidial_api_urls = _table(
    "vicidial_api_urls",
    _pk("api_id", INT9U),
    col("api_date", DATETIME()),
    col("remote_ip", VARCHAR(50)),
    col("url", MEDIUMTEXT()),
)

vicidial_api_urls_archive = _table(
    "vicidial_api_urls_archive",
    _pk("api_id", INT9U),
    col("api_date", DATETIME()),
    col("remote_ip", VARCHAR(50)),
    col("url", MEDIUMTEXT()),
)

vicidial_webservers = _table(
    "vicidial_webservers",
    auto_pk("webserver_id", mysql.SMALLINT(5, unsigned=True)),
    col("webserver", VARCHAR(125), dflt=""),
    col("hostname", VARCHAR(125), dflt=""),
    sa.UniqueConstraint("webserver", "hostname", name="vdweb"),
)

vicidial_urls = _table(
    "vicidial_urls",
    auto_pk("url_id"),
    col("url", VARCHAR(250), dflt=""),
    sa.UniqueConstraint("url", name="vdurl"),
)

vicidial_admin_log = _table(
    "vicidial_admin_log",
    auto_pk("admin_log_id"),
    col("event_date", DATETIME(), nullable=False),
    col("user", VARCHAR(20), nullable=False),
    col("ip_address", VARCHAR(15), nullable=False),
    col("event_section", VARCHAR(30), nullable=False),
    col("event_type",
        enum("ADD", "COPY", "LOAD", "RESET", "MODIFY", "DELETE", "SEARCH", "LOGIN", "LOGOUT", "CLEAR",
             "OVERRIDE", "EXPORT", "OTHER"),
        dflt="OTHER"),
    col("record_id", VARCHAR(50), nullable=False),
    col("event_code", VARCHAR(255), nullable=False),
    col("event_sql", MEDIUMTEXT()),
    col("event_notes", MEDIUMTEXT()),
    col("user_group", VARCHAR(20), dflt="---ALL---"),
    sa.Index("val_event_date", "event_date"),
)

vicidial_ajax_log = _table(
    "vicidial_ajax_log",
    col("user", VARCHAR(20), dflt=""),
    col("start_time", DATETIME(), nullable=False),
    col("db_time", DATETIME(), nullable=False),
    col("run_time", VARCHAR(20), dflt="0"),
    col("php_script", VARCHAR(40), nullable=False),
    col("action", VARCHAR(100), dflt=""),
    col("lead_id", INT10U, dflt="0"),
    col("stage", VARCHAR(100), dflt=""),
    col("session_name", VARCHAR(40), dflt=""),
    col("last_sql", TEXT()),
    sa.Index("vajl_start_time", "start_time"),
)

# --------------------------------------------------------------------------------------------
# Tables of openagc's own (not upstream's)
# --------------------------------------------------------------------------------------------

# Failed logins per user and source address (api.php and /agent/login share them): `failures` within the
# window that began at `window_start`; at the lockout threshold `window_start` becomes the lock's start.
openagc_login_failures = _table(
    "openagc_login_failures",
    _pk("user", VARCHAR(20)),
    _pk("source", VARCHAR(64)),
    col("failures", INT(10, unsigned=True), dflt="0", nullable=False),
    col("window_start", DATETIME(), nullable=False),
)

# Every command written into an agent's command columns, and what became of it (store/command_records.py):
# queued → applied | rejected | expired | superseded (engine on), or delivered | expired (engine off).
openagc_commands = _table(
    "openagc_commands",
    auto_pk("command_id", mysql.BIGINT(20, unsigned=True)),
    col("user", VARCHAR(20), nullable=False),
    col("command", VARCHAR(30), nullable=False),  # the vicidial_live_agents column
    col("value", VARCHAR(1000), nullable=False, dflt=""),
    col("function", VARCHAR(50), nullable=False, dflt=""),  # api.php function, console/agent action, or sql
    col("source", VARCHAR(10), nullable=False, dflt="api"),  # api | console | agent | sql
    col("api_log_id", INT(9, unsigned=True)),
    col("created", DATETIME(), nullable=False),
    col("created_ms", BIGINT(20, unsigned=True), nullable=False),
    col("state", VARCHAR(10), nullable=False, dflt="queued"),
    col("reason", VARCHAR(255), nullable=False, dflt=""),
    col("ended", DATETIME()),
    col("ended_ms", BIGINT(20, unsigned=True)),
    col("ended_by", VARCHAR(100), nullable=False, dflt=""),
    sa.Index("openagc_commands_pending", "user", "command", "state"),
    sa.Index("openagc_commands_state", "state", "created_ms"),
)

# The durable event log (store/event_log.py): what happened in the centre, for integrators' streams and webhooks.
# `event_id` is taken from `openagc_event_sequence` in the writing transaction, so ids become visible in order.
openagc_events = _table(
    "openagc_events",
    _pk("event_id", BIGINT(20, unsigned=True)),
    col("created_ms", BIGINT(20, unsigned=True), nullable=False),
    col("kind", VARCHAR(40), nullable=False),
    col("user", VARCHAR(20), nullable=False, dflt=""),
    col("campaign_id", VARCHAR(8), nullable=False, dflt=""),
    col("user_group", VARCHAR(20), nullable=False, dflt=""),
    col("data", TEXT(), nullable=False),  # JSON object
    sa.Index("openagc_events_created", "created_ms"),
)

openagc_event_sequence = _table(
    "openagc_event_sequence",
    _pk("name", VARCHAR(20)),
    col("last_id", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
)

# API keys (integrations/keys.py): `oagc_<public_id>_<secret>` acts as `user`; only the secret's SHA-256 is kept.
openagc_api_keys = _table(
    "openagc_api_keys",
    auto_pk("key_id", mysql.INTEGER(10, unsigned=True)),
    col("public_id", VARCHAR(24), nullable=False),
    col("secret_sha256", VARCHAR(64), nullable=False),
    col("user", VARCHAR(20), nullable=False),
    col("name", VARCHAR(100), nullable=False, dflt=""),
    col("rate", INT(10, unsigned=True)),  # requests a minute; NULL: the `api_key_rate` setting; 0: no limit
    col("created", DATETIME(), nullable=False),
    col("last_used", DATETIME()),
    col("revoked", DATETIME()),
    sa.Index("openagc_api_keys_public_id", "public_id", unique=True),
)

# Webhook subscriptions (integrations/webhooks/): where events are POSTed, which ones (space-separated lists, empty:
# any), for whose view (`owner`), how far delivery came (`last_event_id`, advanced after a 2xx), the failures in a
# row and the next retry, and the lease of the one dispatcher delivering it. `secret` is the HMAC key, kept as given.
openagc_webhooks = _table(
    "openagc_webhooks",
    auto_pk("webhook_id", mysql.INTEGER(10, unsigned=True)),
    col("url", VARCHAR(1000), nullable=False),
    col("kinds", VARCHAR(2100), nullable=False, dflt=""),
    col("campaigns", VARCHAR(500), nullable=False, dflt=""),
    col("user_groups", VARCHAR(1100), nullable=False, dflt=""),
    col("agents", VARCHAR(1100), nullable=False, dflt=""),
    col("secret", VARCHAR(100), nullable=False),
    col("owner", VARCHAR(20), nullable=False),
    col("active", enum(*YN), nullable=False, dflt="Y"),
    col("failures", INT(10, unsigned=True), nullable=False, dflt="0"),
    col("last_event_id", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
    col("next_attempt_ms", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
    col("delivered", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
    col("failed", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
    col("created_ms", BIGINT(20, unsigned=True), nullable=False),
    col("disabled_ms", BIGINT(20, unsigned=True)),
    col("disabled_reason", VARCHAR(255), nullable=False, dflt=""),
    col("lease_owner", VARCHAR(64), nullable=False, dflt=""),
    col("lease_until_ms", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
    sa.Index("openagc_webhooks_due", "active", "next_attempt_ms"),
)

# Every webhook delivery attempt: which event (0: `openagc webhooks test`), its number for that event, when, the
# HTTP status (NULL without an answer) or the error, how long, and which dispatcher made it.
openagc_webhook_attempts = _table(
    "openagc_webhook_attempts",
    auto_pk("attempt_id", mysql.BIGINT(20, unsigned=True)),
    col("webhook_id", INT(10, unsigned=True), nullable=False),
    col("event_id", BIGINT(20, unsigned=True), nullable=False),
    col("attempt", INT(10, unsigned=True), nullable=False),
    col("attempted_ms", BIGINT(20, unsigned=True), nullable=False),
    col("status", SMALLINT(5, unsigned=True)),
    col("error", VARCHAR(255), nullable=False, dflt=""),
    col("duration_ms", INT(10, unsigned=True), nullable=False),
    col("dispatcher", VARCHAR(64), nullable=False, dflt=""),
    sa.Index("openagc_webhook_attempts_event", "webhook_id", "event_id"),
)

# The stock-VICIdial event watcher (integrations/stock_watcher.py): one row per database saying which process
# derives events from upstream's tables (a lease) and where it is (JSON: cursors of recording_log and
# vicidial_callbacks, open recordings), and the agents' rows as it saw them last; both written in the transaction
# that appends the events they account for, so a restart neither repeats nor loses one.
openagc_event_watch = _table(
    "openagc_event_watch",
    _pk("name", VARCHAR(20)),
    col("holder", VARCHAR(100), nullable=False, dflt=""),
    col("lease_until_ms", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
    col("state", TEXT(), nullable=False),  # JSON object
)

openagc_event_watch_agents = _table(
    "openagc_event_watch_agents",
    _pk("user", VARCHAR(20)),
    col("seen", TEXT(), nullable=False),  # JSON object: the agent's row as the watcher last saw it
)

# Engines sharing the agents (store/leases.py, engine/shards.py): one row per lease — `shard:<n>` (the agents whose
# user hashes to shard n), `server:<server_ip>` (that server's work that belongs to no agent) — and one per live
# engine (`engine:<holder>`, its heartbeat: the fair share is the shards divided by the live engines).
openagc_engine_leases = _table(
    "openagc_engine_leases",
    _pk("name", VARCHAR(120)),
    col("holder", VARCHAR(100), nullable=False, dflt=""),
    col("lease_until_ms", BIGINT(20, unsigned=True), nullable=False, dflt="0"),
)
