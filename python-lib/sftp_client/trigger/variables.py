"""Where the trigger keeps its memory: one project variable, in the project's
*local* variables (``dataiku.Project().get_variables()["local"]``).

Official plugins' triggers (sharepoint-online, googlesheets) keep their state in
project variables and read them back at each check; they use the standard scope.
This one uses the local scope: local variables are not part of project bundles, so
deploying a bundle on an automation node neither brings the design node's memory
nor resets the automation node's (a reset would make the next check a first check
and lose files that arrived meanwhile).

The project object comes in from trigger.py (``dataiku.Project()``); this module
never imports ``dataiku``. ``set_variables`` stores the whole dict, so each write
reads the variables again just before, to keep other keys as they are now.
"""
SCOPE = "local"


class ProjectVariables(object):
    """Read and write one key of a DSS project's variables."""

    def __init__(self, project):
        self.project = project

    def get(self, name):
        return (self.project.get_variables().get(SCOPE) or {}).get(name)

    def put(self, name, value):
        variables = self.project.get_variables()
        variables.setdefault("standard", {})
        variables.setdefault(SCOPE, {})[name] = value
        self.project.set_variables(variables)
