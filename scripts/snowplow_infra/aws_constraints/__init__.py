"""AWS's own constraints on planned values (names, lengths, patterns, description character sets,
tags, ARNs, enums), checked offline: the local emulator accepts what AWS refuses at apply time.
rules.py reads them (the SDK's service models, constraints.json's documented table), check.py
applies them to a plan, command.py is the ``check-aws-constraints`` subcommand."""
