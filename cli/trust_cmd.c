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

static int
cmd_add(struct cli *c, int argc, char **argv)
{
    struct app_err err = {0};
    struct cli_opts o;
    char id[ART_KEY_ID_LEN], *file;
    int k, added = 0;

    cli_opts_init(&o, argc, argv);
    while ((k = cli_opts_next(c, &o, NULL)) > 0)
        ;
    if (k < 0)
        return CLI_EUSAGE;
    if (o.help)
        return cli_usage(argv[0]);
    if (o.n_pos != 1)
        return cli_usage_error(argv[0], "give one minisign public key file");
    if (cli_trust_add(o.pos[0], id, &added, &err) < 0)
        return cli_report_release(&err);
    file = cli_trust_file();
    printf("%s key %s for every server in %s\n", added ? "pinned" : "already pinned", id, file);
    free(file);
    return CLI_OK;
}

const struct cli_cmd cli_cmds_trust[] = {
    {"trust add", "KEYFILE", "pin a minisign public key for every server (a mirror's upstream key)",
     cmd_add},
    {"trust show", "", "show the signing keys pinned for the server (pins on first use)", cmd_show},
    {"trust forget", "", "unpin the server's keys (after an expected key rotation)", cmd_forget},
    {NULL, NULL, NULL, NULL},
};
