"""Every command of `lifesci-tracker`: where it lives and its one-line summary (DESIGN §4).

Adding a command is one entry here: its module is imported only when the command runs, and
`lifesci-tracker --help` prints the summary without importing it. The summary is the first
sentence of the command's help (tests/test_cli.py checks they agree). Define the command with
`tracker.cli_options.tracker_command` / `tracker_group` (or `@cli.command` on the root group), so
it takes the global options after its name too.
"""

from __future__ import annotations

from types import MappingProxyType

from tracker.lazy_group import LazyCommand

COMMANDS = MappingProxyType(
    {
        "backfill": LazyCommand(
            "tracker.commands.backfill_command:backfill_command",
            "Import the publication's history from a web archive, as archive runs before the "
            "first run.",
        ),
        "check-config": LazyCommand(
            "tracker.commands.config_command:check_config",
            "Validate the configuration and print the effective settings (secrets masked).",
        ),
        "db": LazyCommand("tracker.commands.db_commands:db_group", "Manage the snapshot database."),
        "demo": LazyCommand(
            "tracker.commands.demo_command:demo_command",
            "See what the tracker does, offline, on a built-in sample of the publication as it "
            "changes.",
        ),
        "diff": LazyCommand(
            "tracker.commands.query_commands:diff_command",
            "Show what changed between two states (default: latest~1 latest).",
        ),
        "history": LazyCommand(
            "tracker.commands.query_commands:history_command",
            "List runs, newest first, with what each found.",
        ),
        "orgs": LazyCommand(
            "tracker.commands.query_commands:orgs_command",
            "List the organisations at a state (default: latest).",
        ),
        "outbox": LazyCommand(
            "tracker.commands.outbox_commands:outbox_group",
            "List report deliveries that are pending, being sent or failed.",
        ),
        "report": LazyCommand(
            "tracker.commands.outbox_commands:report_command",
            "Render and deliver a report for any range again (files; email and notify when asked).",
        ),
        "run": LazyCommand(
            "tracker.commands.run_command:run_command",
            "Fetch the publication and its documents, store new versions, and report changes.",
        ),
        "schedule": LazyCommand(
            "tracker.commands.schedule_command:schedule_command",
            "Run `run` on the [schedule] cron until stopped; never two runs at once.",
        ),
        "site": LazyCommand(
            "tracker.commands.site_commands:site_group",
            "Build the browsable change-history site (static files for any web server).",
        ),
        "show": LazyCommand(
            "tracker.commands.query_commands:show_command",
            "Print one stored page at a state: its parsed content as JSON, or --raw its body.",
        ),
        "timeline": LazyCommand(
            "tracker.commands.site_commands:timeline_command",
            "Show one organisation's history in every stored state, following renames and moves.",
        ),
        "updates": LazyCommand(
            "tracker.commands.query_commands:updates_command",
            "List the publication's change notes and each document's \"Updated\" date.",
        ),
    }
)
