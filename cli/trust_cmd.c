/* cli/trust_cmd.c: `almanac trust show|forget`: the keys pinned for a server. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/trust.h"

static int
cmd_show(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    int rc;

    if (cli_no_args(c, argc, argv, &rc) < 0)
        return rc;
    if (cli_trust_show(c, &err) < 0)
        return cli_report_release(&err);
    return CLI_OK;
}

static int
cmd_forget(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    char *file;
    int rc, removed = 0;

    if (cli_no_args(c, argc, argv, &rc) < 0)
        return rc;
    if (cli_trust_forget(c, &removed, &err) < 0)
        return cli_report_release(&err);
    file = cli_trust_file();
    printf("removed %d pinned key%s of %s from %s; the next use pins the server's keys again\n",
           removed, removed == 1 ? "" : "s", c->server, file);
    free(file);
    return CLI_OK;
}

const struct cli_cmd cli_cmds_trust[] = {
    {"trust show", "", "show the signing keys pinned for the server (pins on first use)", cmd_show},
    {"trust forget", "", "unpin the server's keys (after an expected key rotation)", cmd_forget},
    {NULL, NULL, NULL, NULL},
};
