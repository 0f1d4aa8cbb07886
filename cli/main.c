/* cli/main.c: `almanac`, the command-line client: global options, the command
 * table (cli.h's CLI_COMMAND_GROUPS) and help. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "app/mem.h"
#include "cli/cli.h"
#include "cli/client.h"

#define CLI_WORDS_MAX 4

static const struct cli_cmd *const groups[] = {
#define CLI_GROUP_ENTRY(g) cli_cmds_##g,
    CLI_COMMAND_GROUPS(CLI_GROUP_ENTRY)
#undef CLI_GROUP_ENTRY
};

static const struct cli_cmd *current;

static const char help_tail[] =
    "\n"
    "global options (anywhere on the line):\n"
    "  --server URL   almanacd to talk to (env ALMANAC_SERVER; default " CLI_DEFAULT_SERVER ")\n"
    "  --json         machine-readable output on stdout\n"
    "  --key FILE     trust exactly this minisign public key (env ALMANAC_KEY) instead of\n"
    "                 the key pinned on first use in ~/.config/almanac/known_keys\n"
    "  -q, --quiet    no notes or progress on stderr\n"
    "\n"
    "environment:\n"
    "  ALMANAC_TOKEN         admin token for writes (made on the server host with\n"
    "                        'almanacd token create --data DIR')\n"
    "  ALMANAC_CACHE         artifact cache (default ~/.cache/almanac)\n"
    "  ALMANAC_EXECUTOR_DIR  directory of host.mjs (default: found next to almanac)\n"
    "  ALMANAC_NODE          Node.js binary for 'almanac run' (default node)\n"
    "\n"
    "exit codes:\n"
    "  0  ok\n"
    "  1  usage error, or a local file that cannot be read or parsed\n"
    "  2  the server refused the request (4xx; its problem is printed)\n"
    "  3  network, server (5xx) or local I/O error\n"
    "  4  verification failed: a signature, digest or size did not match, or the\n"
    "     server's signing key is not the pinned one\n"
    "  5  almanac run: the worker raised, or the executor failed\n";

static void
print_help(FILE *f)
{
    fprintf(f, "usage: almanac [--server URL] [--json] [--key FILE] COMMAND [ARGS]\n\n"
               "commands:\n");
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++)
            fprintf(f, "  %-18s %s\n", c->name, c->summary);
    fprintf(f, "\n'almanac help COMMAND' shows a command's arguments.\n%s", help_tail);
}

/* The number of leading words of args that spell cmd's name, or 0. */
static int
words_match(const char *name, int argc, char **argv)
{
    int k = 0;
    const char *p = name;

    while (*p) {
        size_t n = strcspn(p, " ");

        if (k >= argc || strlen(argv[k]) != n || strncmp(argv[k], p, n) != 0)
            return 0;
        k++;
        p += n;
        while (*p == ' ')
            p++;
    }
    return k;
}

static const struct cli_cmd *
find_cmd(int argc, char **argv, int *words)
{
    const struct cli_cmd *best = NULL;
    int best_k = 0;

    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++) {
            int k = words_match(c->name, argc, argv);

            if (k > best_k) {
                best = c;
                best_k = k;
            }
        }
    *words = best_k;
    return best;
}

/* Commands whose first word is w ("lock" -> "lock show"). */
static int
list_family(FILE *f, const char *w)
{
    int n = 0;
    size_t len = strlen(w);

    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++)
            if (strncmp(c->name, w, len) == 0 && c->name[len] == ' ') {
                fprintf(f, "  almanac %s %s\n", c->name, c->usage);
                n++;
            }
    return n;
}

int
cli_usage(const char *cmd_name)
{
    const struct cli_cmd *c = current;

    if (c)
        printf("usage: almanac %s %s\n%s\n", c->name, c->usage, c->summary);
    else
        printf("usage: almanac %s\n", cmd_name);
    return CLI_OK;
}

int
cli_usage_error(const char *cmd_name, const char *fmt, ...)
{
    va_list ap;

    fputs("almanac: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (current)
        fprintf(stderr, "usage: almanac %s %s\n", current->name, current->usage);
    else if (cmd_name)
        fprintf(stderr, "see 'almanac help %s'\n", cmd_name);
    return CLI_EUSAGE;
}

static int
help_cmd(int argc, char **argv)
{
    int k;
    const struct cli_cmd *c;

    if (argc == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    c = find_cmd(argc, argv, &k);
    if (c && k == argc) {
        printf("usage: almanac %s %s\n%s\n", c->name, c->usage, c->summary);
        return CLI_OK;
    }
    if (list_family(stdout, argv[0]))
        return CLI_OK;
    fprintf(stderr, "almanac: no command '%s'\n", argv[0]);
    return CLI_EUSAGE;
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
    if (cli_set_server(&c, server && *server ? server : CLI_DEFAULT_SERVER, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    /* Global options before the command; the same ones are accepted after it. */
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];

        if (!strcmp(a, "--json")) {
            c.json = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            c.quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_help(stdout);
            rc = CLI_OK;
            goto out;
        } else if (!strcmp(a, "--version")) {
            printf("almanac %s\n", ALMANAC_CLI_VERSION);
            rc = CLI_OK;
            goto out;
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
            rc = cli_usage_error(NULL, "unknown option '%s' (see 'almanac help')", a);
            goto out;
        }
        i++;
    }
    if (i >= argc) {
        print_help(stderr);
        rc = CLI_EUSAGE;
        goto out;
    }
    if (!strcmp(argv[i], "help")) {
        rc = help_cmd(argc - i - 1, argv + i + 1);
        goto out;
    }
    cmd = find_cmd(argc - i, argv + i, &words);
    if (!cmd) {
        fprintf(stderr, "almanac: unknown command '%s'\n", argv[i]);
        if (!list_family(stderr, argv[i]))
            fprintf(stderr, "see 'almanac help'\n");
        rc = CLI_EUSAGE;
        goto out;
    }
    current = cmd;
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
