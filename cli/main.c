/* cli/main.c: `almanac`, the command-line client: global options before the
 * command, dispatch through cli/commands, and the exit status. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "app/mem.h"
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/trust.h"

/* Release what c owns (HTTP handle, trust store, server string). */
static void
cli_release(struct cli *c)
{
    cli_http_free(c->http);
    c->http = NULL;
    cli_trust_free(c->trust);
    c->trust = NULL;
    free(c->server);
    c->server = NULL;
    for (size_t i = 0; i < c->n_servers; i++)
        free(c->servers[i]);
    free(c->servers);
    c->servers = NULL;
    c->n_servers = 0;
}

int
main(int argc, char **argv)
{
    struct cli c;
    struct app_err err = {0};
    const char *server = getenv("ALMANAC_SERVER"), *token = getenv("ALMANAC_TOKEN");
    const struct cli_cmd *cmd;
    int i = 1, words, rc;

    memset(&c, 0, sizeof(c));
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "almanac: cannot initialize libsodium or libcurl\n");
        return CLI_ENET;
    }
    c.token = token && *token ? token : NULL;
    c.tty_err = isatty(STDERR_FILENO);
    cli_set_color(&c, "auto");
    if (cli_set_server(&c, server && *server ? server : CLI_DEFAULT_SERVER, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    /* Global options before the command; the same ones are accepted after it. */
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];

        if (!strcmp(a, "--json")) {
            c.json = 1;
            cli_json_errors = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            c.quiet = 1;
        } else if (!strcmp(a, "--offline")) {
            c.offline = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_help_print(stdout);
            rc = CLI_OK;
            goto out;
        } else if (!strcmp(a, "--version")) {
            cli_print_version(&c);
            rc = CLI_OK;
            goto out;
        } else if (!strcmp(a, "--color") || !strncmp(a, "--color=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : i + 1 < argc ? argv[++i] : "";

            if (cli_set_color(&c, v) < 0) {
                rc = cli_usage_error(NULL, "--color '%s' is not auto, always or never", v);
                goto out;
            }
        } else if (!strcmp(a, "--server") || !strcmp(a, "--key")) {
            if (i + 1 >= argc) {
                rc = cli_usage_error(NULL, "option '%s' needs a value", a);
                goto out;
            }
            if (a[2] == 'k') {
                c.key_file = argv[++i];
            } else if (cli_set_server(&c, argv[++i], &err) < 0) {
                rc = cli_report(&err);
                goto out;
            }
        } else if (!strncmp(a, "--server=", 9)) {
            if (cli_set_server(&c, a + 9, &err) < 0) {
                rc = cli_report(&err);
                goto out;
            }
        } else if (!strncmp(a, "--key=", 6)) {
            c.key_file = a + 6;
        } else {
            const char *guess = cli_did_you_mean(NULL, a);

            if (guess)
                rc = cli_usage_error(NULL, "unknown option '%s'; did you mean '%s'?", a, guess);
            else
                rc = cli_usage_error(NULL, "unknown option '%s' (see 'almanac help')", a);
            goto out;
        }
        i++;
    }
    if (i >= argc) {
        cli_help_print(stderr);
        rc = CLI_EUSAGE;
        goto out;
    }
    if (!strcmp(argv[i], "help")) {
        rc = cli_help_cmd(argc - i - 1, argv + i + 1);
        goto out;
    }
    cmd = cli_cmd_find(argc - i, argv + i, &words);
    if (!cmd) {
        const char *guess = cli_did_you_mean(NULL, argv[i]);

        if (guess && !strcmp(guess, argv[i]))
            rc = cli_fail_usage("'%s' needs a subcommand:", argv[i]); /* a family: d1, trust */
        else if (guess)
            rc = cli_fail_usage("unknown command '%s'; did you mean '%s'?", argv[i], guess);
        else
            rc = cli_fail_usage("unknown command '%s'", argv[i]);
        if (!cli_cmd_list_family(stderr, argv[i]))
            fprintf(stderr, "see 'almanac help'\n");
        goto out;
    }
    cli_cmd_set_current(cmd);
    i += words - 1;
    rc = cmd->run(&c, argc - i, argv + i);
out:
    app_err_release(&err);
    cli_release(&c);
    curl_global_cleanup();
    fflush(stdout);
    if (ferror(stdout) && rc == CLI_OK) {
        fprintf(stderr, "almanac: cannot write to standard output\n");
        rc = CLI_ENET;
    }
    return rc;
}
