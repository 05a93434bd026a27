"""agent_ingroup_info: every answer line, the text stage, the HTML panel (information and change form), what the
caller may change, on-hook and manager-override agents, escaping, translation, scope and JSON."""

from __future__ import annotations

import pytest

from tests.companion.conftest import add_team, add_user, log_row, logged

INVALID = "agent_ingroup_info INVALID USER ID"
HEAD = ('<TABLE WIDTH=680 CELLPADDING=0 CELLSPACING=5 BGCOLOR="#D9E6FE"><TR><TD ALIGN=LEFT>\n'
        "Agent: 1000 - Agent 1000 </TD><TD>\n"
        " &nbsp; Campaign: TESTCAMP</TD><TD>\n"
        '<a href="#" onclick="hide_ingroup_info();">Close</a></TD></TR><TR><TD COLSPAN=3 BGCOLOR="#CCCCFF">\n')
INFO = (HEAD + "<TABLE CELLPADDING=0 CELLSPACING=3 BORDER=0>\n"
        "<TR><TD>TEST_IN *</TD><TD>Test Inbound</TD></TR>\n"
        "<TR><TD>TEST_IN2</TD><TD>Test Inbound 2</TD></TR>\n"
        "<TR><TD>TEST_IN3</TD><TD>Test Inbound 3</TD></TR>\n"
        "<TR><TD>SALESLINE *</TD><TD>Sales Line</TD></TR>\n"
        "<TR><TD>TRAINING_IN</TD><TD>Training Inbound</TD></TR>\n"
        "<TR><TD>AGENTDIRECT</TD><TD>Single Agent Direct Queue</TD></TR>\n"
        "</TABLE><BR>\n"
        "SELECTED INGROUPS:  TEST_IN SALESLINE -<BR>\n"
        "OUTBOUND AUTODIAL: Y<BR>\n"
        "MANAGER OVERRIDE: N<BR>\n"
        "MANAGER: <BR>\n"
        "\n"
        "</TD></TR></TABLE>\n")
CHANGE = (HEAD + "<TABLE CELLPADDING=0 CELLSPACING=3 BORDER=0>\n"
          "<TR><TD ALIGN=RIGHT VALIGN=TOP>Selected In-Groups: </TD><TD ALIGN=LEFT>\n"
          '<INPUT TYPE=HIDDEN NAME=agent_user ID=agent_user value="1000">\n'
          "<SELECT SIZE=10 NAME=ingroup_new_selections ID=ingroup_new_selections multiple>\n"
          '<option value="TEST_IN" SELECTED>TEST_IN - Test Inbound</option>\n'
          '<option value="TEST_IN2">TEST_IN2 - Test Inbound 2</option>\n'
          '<option value="TEST_IN3">TEST_IN3 - Test Inbound 3</option>\n'
          '<option value="SALESLINE" SELECTED>SALESLINE - Sales Line</option>\n'
          '<option value="TRAINING_IN">TRAINING_IN - Training Inbound</option>\n'
          '<option value="AGENTDIRECT">AGENTDIRECT - Single Agent Direct Queue</option>\n'
          "</SELECT><BR></TD></TR>\n"
          "<TR><TD ALIGN=RIGHT>Change, Add, Remove:\n"
          "</TD><TD ALIGN=LEFT>\n"
          "<SELECT SIZE=1 NAME=ingroup_add_remove_change ID=ingroup_add_remove_change>\n"
          '<option value="CHANGE">CHANGE - Set in-groups to those selected above</option>\n'
          '<option value="ADD">ADD - Add in-groups selected above to agent selected</option>\n'
          '<option value="REMOVE">REMOVE - Remove in-groups selected above from agent selected</option>\n'
          "</SELECT>\n"
          "</TD></TR>\n"
          "<TR><TD ALIGN=RIGHT>Blended Outbound Autodial:\n"
          "</TD><TD ALIGN=LEFT>\n"
          "<SELECT SIZE=1 NAME=blended ID=blended>\n"
          '<option value="YES" SELECTED>Yes</option>\n'
          '<option value="NO">No</option>\n'
          "</SELECT>\n"
          "</TD></TR>\n"
          "<TR><TD ALIGN=RIGHT>Set As User Default:\n"
          "</TD><TD ALIGN=LEFT>\n"
          "<SELECT SIZE=1 NAME=set_as_default ID=set_as_default>\n"
          '<option value="YES">Yes</option>\n'
          '<option value="NO" SELECTED>No</option>\n'
          "</SELECT>\n"
          "</TD></TR>\n"
          "<TR><TD ALIGN=CENTER COLSPAN=2>\n"
          '<INPUT TYPE=BUTTON NAME=SUBMIT ID=SUBMIT VALUE="Submit Changes" '
          'onclick="submit_ingroup_changes(\'1000\')">\n'
          "</TD></TR>\n"
          "</TABLE>\n"
          "</TD></TR></TABLE>\n")


@pytest.fixture
def agent(login):
    """Agent 1000 in TESTCAMP with two in-groups selected and blended outbound."""
    return login("1000", status="READY", closer_campaigns=" TEST_IN SALESLINE -", outbound_autodial="Y")


def test_unknown_or_logged_out_agents_are_invalid(companion, db):
    assert companion("agent_ingroup_info", agent_user="4242", session_id="8600051") == (
        f"ERROR: {INVALID} - 4242|6666\n")
    assert log_row(db) == logged(db, "agent_ingroup_info", "ERROR", INVALID, "8600051", agent_user="4242")
    assert companion("agent_ingroup_info", agent_user="1000") == f"ERROR: {INVALID} - 1000|6666\n"
    assert log_row(db) == logged(db, "agent_ingroup_info", "ERROR", INVALID, "", agent_user="1000")


def test_an_agent_outside_the_callers_viewable_groups_is_invalid(companion, db, agent):
    supervisor = add_team(db)
    assert companion("agent_ingroup_info", auth=supervisor, agent_user="1000") == f"ERROR: {INVALID} - 1000|7002\n"
    assert companion("agent_ingroup_info", auth=supervisor, agent_user="2001", stage="text").startswith(
        "SUCCESS:  - 2001|text\n")


def test_text_stage(companion, db, agent):
    body = companion("agent_ingroup_info", agent_user="1000", stage="text")
    assert body == ("SUCCESS:  - 1000|text\nSELECTED INGROUPS:  TEST_IN SALESLINE -\nOUTBOUND AUTODIAL: Y\n"
                    "MANAGER OVERRIDE: N\nMANAGER: \n\n")
    assert log_row(db) == logged(db, "agent_ingroup_info", "SUCCESS", "", "1000|text", agent_user="1000")


@pytest.mark.parametrize("stage", ["info", ""])
def test_information_panel(companion, db, agent, stage):
    assert companion("agent_ingroup_info", agent_user="1000", stage=stage) == INFO
    assert log_row(db) == logged(db, "agent_ingroup_info", "SUCCESS", "", f"1000|{stage}", agent_user="1000")


def test_change_form(companion, db, agent):
    assert companion("agent_ingroup_info", agent_user="1000", stage="change") == CHANGE
    assert log_row(db)["data"] == "1000|change"


def test_the_change_form_needs_change_agent_campaign(companion, db, agent):
    credentials = add_user(db, "7001", change_agent_campaign="0")
    assert companion("agent_ingroup_info", auth=credentials, agent_user="1000", stage="change") == INFO


def test_set_as_default_needs_modify_users(companion, db, agent):
    credentials = add_user(db, "7001", change_agent_campaign="1", modify_users="0")
    body = companion("agent_ingroup_info", auth=credentials, agent_user="1000", stage="change")
    assert body == CHANGE.replace("ID=set_as_default>", "ID=set_as_default DISABLED>")


def test_a_manual_campaign_offers_no_in_groups_and_no_autodial(companion, db, login):
    login("1000", campaign_id="MANCAMP", closer_campaigns=" TEST_IN -", outbound_autodial="Y")
    body = companion("agent_ingroup_info", agent_user="1000", stage="change")
    assert '<option value="">No In-Groups Allowed</option>\n</SELECT>' in body
    assert ('<SELECT SIZE=1 NAME=blended ID=blended DISABLED>\n<option value="YES">Yes</option>\n'
            '<option value="NO" SELECTED>No</option>\n') in body
    info = companion("agent_ingroup_info", agent_user="1000")
    assert ("<TABLE CELLPADDING=0 CELLSPACING=3 BORDER=0>\n<TR><TD>No In-Groups Allowed</TD></TR>\n</TABLE><BR>\n"
            "SELECTED INGROUPS:  TEST_IN -<BR>\nOUTBOUND AUTODIAL: Y<BR>\n") in info


def test_on_hook_agent_and_manager_override(companion, db, login):
    login("1000", closer_campaigns=" TEST_IN -", on_hook_agent="Y", on_hook_ring_time=25, manager_ingroup_set="SET",
          external_igb_set_user="6666")
    body = companion("agent_ingroup_info", agent_user="1000", stage="change")
    assert body.startswith(HEAD + "<TABLE CELLPADDING=0 CELLSPACING=3 BORDER=0>\n"
                           "<TR><TD ALIGN=CENTER VALIGN=TOP COLSPAN=2><B>This is a Phone On-Hook Agent</B> &nbsp; "
                           "Maximum Ring Time:  25</TD></TR>\n")
    assert ("<TR><TD ALIGN=RIGHT>Manager In-Group Override:\n</TD><TD ALIGN=LEFT>\nSET - 6666 - API User\n"
            "</TD></TR>\n<TR><TD ALIGN=CENTER COLSPAN=2>\n") in body
    assert companion("agent_ingroup_info", agent_user="1000", stage="text").endswith(
        "MANAGER OVERRIDE: SET\nMANAGER: 6666\n\n")


def test_names_from_the_database_are_escaped(companion, db, agent):
    db.update("vicidial_users", {"user": "1000"}, full_name="<b>Agent</b> & co")
    db.update("vicidial_inbound_groups", {"group_id": "TEST_IN"}, group_name='"Inbound" <i>')
    body = companion("agent_ingroup_info", agent_user="1000", stage="change")
    assert "Agent: 1000 - &lt;b&gt;Agent&lt;/b&gt; &amp; co </TD>" in body
    assert '<option value="TEST_IN" SELECTED>TEST_IN - &quot;Inbound&quot; &lt;i&gt;</option>' in body


def test_labels_are_translated(companion, db, agent):
    db.update("system_settings", {}, enable_languages="1", language_method="MYSQL")
    db.update("vicidial_users", {"user": "6666"}, selected_language="es")
    db.insert("vicidial_language_phrases", language_id="es", english_text="Agent", translated_text="Agente")
    db.insert("vicidial_language_phrases", language_id="es", english_text="Yes", translated_text="Sí")
    body = companion("agent_ingroup_info", agent_user="1000", stage="change")
    assert "Agente: 1000 - Agent 1000 </TD>" in body
    assert '<option value="YES" SELECTED>Sí</option>' in body


def test_json(companion, db, agent):
    assert companion.json("agent_ingroup_info", agent_user="1000") == {
        "result": "SUCCESS", "function": "agent_ingroup_info", "data": [{
            "agent_user": "1000", "full_name": "Agent 1000", "campaign_id": "TESTCAMP",
            "selected_ingroups": ["TEST_IN", "SALESLINE"], "outbound_autodial": "Y", "manager_override": "N",
            "manager": "", "on_hook_agent": "N", "on_hook_ring_time": 15,
            "ingroups": [{"group_id": g, "group_name": n, "selected": g in ("TEST_IN", "SALESLINE")} for g, n in (
                ("TEST_IN", "Test Inbound"), ("TEST_IN2", "Test Inbound 2"), ("TEST_IN3", "Test Inbound 3"),
                ("SALESLINE", "Sales Line"), ("TRAINING_IN", "Training Inbound"),
                ("AGENTDIRECT", "Single Agent Direct Queue"))],
            "may_change_ingroups": True, "may_set_default": True, "autodial_allowed": True}]}
    assert companion.json("agent_ingroup_info", agent_user="4242") == {
        "result": "ERROR", "function": "agent_ingroup_info", "reason": INVALID, "details": ["4242", "6666"]}
