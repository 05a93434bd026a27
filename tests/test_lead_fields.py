"""The lead fields the API may update are the ones the console shows and the engine reports."""

from openagc.console.actions import LEAD_PANEL_FIELDS
from openagc.store.leads import UPDATABLE_LEAD_FIELDS
from openagc.store.schema import vicidial_list


def test_the_console_panel_shows_every_updatable_field_once():
    assert sorted(LEAD_PANEL_FIELDS) == sorted(UPDATABLE_LEAD_FIELDS)


def test_every_updatable_field_is_a_lead_column():
    assert set(UPDATABLE_LEAD_FIELDS) <= set(vicidial_list.c.keys())
