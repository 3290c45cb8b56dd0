"""Stand-in for ``dataiku.scenario`` (reference section 16), for tests only: only
``Trigger().fire()``, what custom trigger scripts call to start their scenario.
``dataiku._harness.trigger_fires()`` counts the calls of the running trigger;
outside a trigger, ``fire`` raises.
"""

from dataiku import _harness

__all__ = ["Trigger"]


class Trigger(object):
    """Handle on the running custom trigger."""

    def fire(self):
        """Start the scenario (the condition of the trigger holds)."""
        _harness._record_fire()
