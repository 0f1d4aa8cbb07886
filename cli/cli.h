/* cli/cli.h: what a command file (cli/NAME_cmd.c) includes: the invocation state and
 * exit codes, the option parser, output helpers and the command table. Lower cli/
 * modules include the single headers, never this one. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/output.h"
#include "cli/state.h"

#endif
