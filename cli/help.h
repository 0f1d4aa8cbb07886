/* cli/help.h: the long help of each command (every option, its meaning and its
 * default), and what is generated from the same text: shell completions, the
 * almanac(1) manual page and did-you-mean suggestions. */
#ifndef CLI_HELP_H
#define CLI_HELP_H

#include <stdio.h>

/* The full help of a command: its options, their meaning and defaults; NULL when
 * the command has none beyond its usage line. */
const char *cli_help_text(const char *cmd_name);

/* A completion script for shell ("bash", "zsh", "fish") on f; -1 for another. */
int cli_completion_print(FILE *f, const char *shell);

/* The almanac(1) manual page in roff on f, from the same help text; tail is the
 * text after the command list (cli_help_tail: global options, exit codes). */
void cli_manpage_print(FILE *f, const char *tail);

/* The known word closest to word among the command names' first words (or the
 * options of cmd_name when word starts with '-'), or NULL when none is close. The
 * result is static: valid until the next call. */
const char *cli_did_you_mean(const char *cmd_name, const char *word);

#endif
