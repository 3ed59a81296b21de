"""The examples each command's ``--help`` ends with, by command path.

One table, so they read as one voice: one to three examples a command, each a line of what it
does and the command line itself, shown as written (never rewrapped). ``tests/cli/test_help.py``
parses every example against the real command, so an example that names an unknown command or
option, or lacks a required argument, fails the tests instead of a reader.
"""

from typing import NamedTuple

__all__ = ["EXAMPLES", "Example"]


class Example(NamedTuple):
    says: str
    """What the example does, in one line."""
    command: str
    """The command line, as it is typed (it starts with ``paved``)."""


EXAMPLES: dict[str, tuple[Example, ...]] = {
    "deploy": (
        Example(
            "Deploy this service to dev, with the image of its last deployment", "paved deploy"
        ),
        Example(
            "See what a staging deployment would change, without deploying",
            "paved deploy -e staging --image registry.example.com/payments:1.4 --dry-run",
        ),
        Example(
            "Deploy to prod from a script: an image by digest, and --yes to confirm",
            "paved deploy -e prod --image registry.example.com/payments@sha256:DIGEST -y",
        ),
    ),
    "docs": (
        Example("List the pages of paved's documentation", "paved docs"),
        Example("Read how to waive a guardrail", "paved docs guardrails#waivers"),
        Example("Find an exit code", "paved docs exit-codes | grep GUARDRAIL"),
    ),
    "doctor": (
        Example("Check this machine and the service around here", "paved doctor"),
        Example("Apply the safe fixes, then check again", "paved doctor --fix"),
        Example("Check another service, for a script", "paved doctor --path ~/src/payments --json"),
    ),
    "onboard": (
        Example("Day one: doctor, a first service, a first deploy", "paved onboard"),
        Example("See the steps first, without doing anything", "paved onboard --dry-run"),
        Example(
            "Carry on after a failure, with a name of your own",
            "paved onboard --name jane-first --skip-production",
        ),
    ),
    "login": (
        Example(
            "Log in to your organisation's platform (asks for the token)",
            "paved login https://paved.example.com",
        ),
        Example(
            "Log in from a script, the token read from stdin",
            "paved login https://paved.example.com < ~/.config/paved-token",
        ),
    ),
    "logout": (Example("Go back to the local catalog", "paved logout"),),
    "rollback": (
        Example("Put dev back to the deployment before the current one", "paved rollback"),
        Example(
            "See what rolling back staging would change", "paved rollback --env staging --dry-run"
        ),
        Example(
            "Restore one deployment of prod, from its id in 'paved deployments list'",
            "paved rollback --env prod --to 42 --yes",
        ),
    ),
    "update": (
        Example(
            "See what the newest road would change, file by file",
            "paved update --dry-run --diff",
        ),
        Example("Update the road layer and commit", "paved update"),
        Example(
            "Decline 0.3.0 until the freeze is over",
            'paved update --decline 0.3.0 --reason "Q3 freeze" --until 2027-01-15',
        ),
    ),
    "add database": (
        Example("A PostgreSQL database named orders, committed here", "paved add database orders"),
        Example(
            "A larger MySQL one, on a branch for a pull request",
            "paved add database ledger --engine mysql --size large --branch add-ledger",
        ),
        Example("See every file it would change", "paved add database orders --dry-run --diff"),
    ),
    "add bucket": (
        Example("An S3 bucket named uploads", "paved add bucket uploads"),
        Example("The same, as JSON for a script", "paved add bucket uploads --json"),
    ),
    "add queue": (
        Example("An SQS queue with a dead-letter queue", "paved add queue jobs"),
        Example("One without a dead-letter queue", "paved add queue events --no-dead-letter"),
    ),
    "remove database": (
        Example(
            "Remove a database the service has only in dev and staging",
            "paved remove database scratch --yes",
        ),
        Example(
            "Remove one from prod too (recorded in the commit)",
            'paved remove database orders --yes --break-glass --reason "INC-42"',
        ),
    ),
    "remove bucket": (
        Example("See what removing a bucket would change", "paved remove bucket uploads --dry-run"),
        Example("Remove it", "paved remove bucket uploads --yes"),
    ),
    "remove queue": (
        Example(
            "Remove a queue, on a branch for review",
            "paved remove queue jobs --yes --branch rm-jobs",
        ),
    ),
    "resources list": (
        Example("This service's databases, buckets and queues", "paved resources list"),
        Example("Another service's, as JSON", "paved resources list --path ../billing --json"),
    ),
    "deployments list": (
        Example("Every deploy and rollback, newest first", "paved deployments list"),
        Example(
            "The prod history of payments", "paved deployments list --service payments --env prod"
        ),
    ),
    "incident open": (
        Example(
            "Card payments fail in prod since deployment 42",
            'paved incident open payments --title "Card payments fail" --deployment 42',
        ),
        Example(
            "A minor one of search, in qa",
            "paved incident open search --title Slow --environment qa --severity sev4",
        ),
    ),
    "incident resolve": (
        Example("Resolve incident 7: the time to restore ends now", "paved incident resolve 7"),
    ),
    "incident list": (
        Example("The open incidents of team-checkout", "paved incident list --team team-checkout"),
        Example(
            "Every incident of payments, resolved too",
            "paved incident list --service payments --all",
        ),
    ),
    "metrics delivery": (
        Example("The four keys for prod, last 30 days", "paved metrics delivery"),
        Example(
            "Team checkout over a quarter, in staging",
            "paved metrics delivery --team team-checkout --environment staging --days 90",
        ),
        Example("The figures for a script", "paved metrics delivery --service payments --json"),
    ),
    "metrics onboarding": (
        Example(
            "Time to a first production deploy, per cohort and team", "paved metrics onboarding"
        ),
        Example(
            "One team, last 6 months", "paved metrics onboarding --team team-checkout --days 180"
        ),
    ),
    "metrics adoption": (
        Example("Road versions, the gate and teams", "paved metrics adoption"),
        Example("The app layer's versions", "paved metrics adoption --layer app"),
    ),
    "fleet plan": (
        Example(
            "What an update would do to each of team-checkout's services",
            "paved fleet plan --owner team-checkout",
        ),
        Example("The same for every service, for a script", "paved fleet plan --json"),
    ),
    "fleet update": (
        Example(
            "Roll the newest road out: 1 service, then 10%, then the rest",
            "paved fleet update --waves 1,10%,100% --max-failures 2",
        ),
        Example(
            "Update team-checkout's services, pushing nothing",
            "paved fleet update --owner team-checkout --dry-run",
        ),
    ),
    "fleet status": (
        Example("Where the newest roll-out stands, service by service", "paved fleet status"),
        Example("The journal only, without asking the remotes", "paved fleet status --no-refresh"),
    ),
    "guardrails list": (
        Example("Every guardrail, with its id and severity", "paved guardrails list"),
        Example("The same, for a script", "paved guardrails list --json"),
    ),
    "guardrails explain": (
        Example(
            "Why PAVED-K8S-007 exists, what it refuses and the fix",
            "paved guardrails explain PAVED-K8S-007",
        ),
        Example(
            "A deploy gate rule, for a script", "paved guardrails explain PAVED-DEPLOY-003 --json"
        ),
    ),
    "guardrails check": (
        Example("Check the service around here", "paved guardrails check"),
        Example(
            "Check payments, for CI (exit 3 on an unwaived error)",
            "paved guardrails check ~/src/payments --json",
        ),
        Example(
            "In CI, logged in: the result becomes the platform's gate report",
            "paved guardrails check --report",
        ),
    ),
    "new service": (
        Example(
            "Create payments for team-checkout: render, commit, push and register",
            "paved new service payments --owner team-checkout",
        ),
        Example(
            "See the plan first, writing nothing",
            "paved new service payments --owner team-checkout --dry-run",
        ),
        Example(
            "An internal service (inside the cluster only), from a script",
            "paved new service ledger -o team-checkout --set exposure=internal --yes",
        ),
    ),
    "platform serve": (
        Example(
            "Serve the platform on this machine, with a local database", "paved platform serve"
        ),
        Example(
            "Serve it on every address, with PostgreSQL",
            "paved platform serve --host 0.0.0.0 --db postgresql://db.example.com/paved",
        ),
        Example(
            "Behind a TLS proxy, four workers, the database migrated by a job",
            "paved platform serve --workers 4 --no-migrate --secure-cookies",
        ),
    ),
    "platform migrate": (
        Example("Bring the platform database to the newest migration", "paved platform migrate"),
        Example(
            "See which migrations would run, as JSON", "paved platform migrate --dry-run --json"
        ),
    ),
    "platform token create": (
        Example(
            "A token for jane, a member of team-checkout, for 90 days",
            "paved platform token create --user jane --team team-checkout",
        ),
        Example(
            "A platform admin's token for 12 hours",
            "paved platform token create --user ops --admin --expires 12h",
        ),
    ),
    "platform token list": (
        Example(
            "Every token of this host's platform, secrets never shown", "paved platform token list"
        ),
        Example(
            "The ids alone, for a script", "paved platform token list --json | jq -r '.tokens[].id'"
        ),
    ),
    "platform team create": (
        Example(
            "A team services may be registered to",
            "paved platform team create team-data --display-name Data",
        ),
    ),
    "platform team list": (
        Example("Every team this host's platform knows", "paved platform team list"),
        Example("The names alone", "paved platform team list --json | jq -r '.teams[].name'"),
    ),
    "platform token revoke": (
        Example(
            "Revoke one token, by the id printed at creation",
            "paved platform token revoke TOKEN_ID",
        ),
        Example("Revoke every token of jane", "paved platform token revoke --user jane"),
    ),
    "services list": (
        Example("Every service in the catalog", "paved services list"),
        Example(
            "team-checkout's services, for a script",
            "paved services list --owner team-checkout --json",
        ),
    ),
    "services show": (
        Example("Owner, repository and layers of payments", "paved services show payments"),
        Example("The same, for a script", "paved services show payments --json"),
    ),
    "services archive": (
        Example("Archive payments; its name stays taken", "paved services archive payments"),
    ),
    "templates list": (
        Example("Every scaffold, with the questions --set answers", "paved templates list"),
        Example(
            "Types, defaults and choices of the questions, for a script",
            "paved templates list --json",
        ),
    ),
    "templates show": (
        Example(
            "The questions of service-python: types, defaults, choices",
            "paved templates show service-python",
        ),
        Example(
            "The road scaffold's questions, for a script", "paved templates show paved-road --json"
        ),
    ),
    "templates store": (
        Example(
            "Fill the template store and print its folder (for copier)", "paved templates store"
        ),
    ),
}
