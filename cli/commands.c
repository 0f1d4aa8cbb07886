/* cli/commands.c: the command table, lookup, usage lines and help (see
 * cli/commands.h). */
#include "cli/commands.h"

#include <stdarg.h>
#include <string.h>

#include "app/err.h"
#include "cli/help.h"
#include "cli/output.h"

static const struct cli_cmd *const groups[] = {
#define CLI_GROUP_ENTRY(g) cli_cmds_##g,
    CLI_COMMAND_GROUPS(CLI_GROUP_ENTRY)
#undef CLI_GROUP_ENTRY
};

/* The command being run, for usage lines (set once by main). */
static const struct cli_cmd *current;

void
cli_cmd_set_current(const struct cli_cmd *cmd)
{
    current = cmd;
}

const char cli_help_tail[] =
    "\n"
    "global options (anywhere on the line):\n"
    "  --server URL   almanacd to talk to (env ALMANAC_SERVER; default " CLI_DEFAULT_SERVER ");\n"
    "                 a comma-separated list falls back to the next when one fails\n"
    "  --json         machine-readable output on stdout\n"
    "  --key FILE     trust exactly this minisign public key (env ALMANAC_KEY) instead of\n"
    "                 the key pinned on first use in ~/.config/almanac/known_keys\n"
    "  -q, --quiet    no notes or progress on stderr\n"
    "  --offline      no network at all: the lock file or the last verified catalog\n"
    "                 snapshot, and the cache\n"
    "  --color WHEN   auto (default: on a terminal, unless NO_COLOR is set), always, never\n"
    "  --version      the version and how this binary was built\n"
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
    "  5  almanac run: the worker raised, or the executor failed\n"
    "  6  almanac check: the worker's Python line has ended (or ends, with --fail-on ending)\n"
    "under --json an error is also an RFC 9457 problem document on stdout.\n";

void
cli_help_print(FILE *f)
{
    fprintf(f, "usage: almanac [--server URL] [--json] [--key FILE] COMMAND [ARGS]\n\n"
               "commands:\n");
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++)
            fprintf(f, "  %-18s %s\n", c->name, c->summary);
    fprintf(f, "\n'almanac help COMMAND' shows a command's arguments.\n%s", cli_help_tail);
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

const struct cli_cmd *
cli_cmd_find(int argc, char **argv, int *words)
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
int
cli_cmd_list_family(FILE *f, const char *w)
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

    if (c) {
        const char *h = cli_help_text(c->name);

        printf("usage: almanac %s %s\n%s\n", c->name, c->usage, c->summary);
        if (h)
            printf("\n%s", h);
        printf("\nglobal options: --server URL, --json, --key FILE, -q, --color WHEN "
               "(see 'almanac help')\n");
    } else
        printf("usage: almanac %s\n", cmd_name);
    return CLI_OK;
}

int
cli_usage_error(const char *cmd_name, const char *fmt, ...)
{
    char msg[APP_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cli_fail_usage("%s", msg);
    if (current)
        fprintf(stderr, "usage: almanac %s %s\n", current->name, current->usage);
    else if (cmd_name)
        fprintf(stderr, "see 'almanac help %s'\n", cmd_name);
    return CLI_EUSAGE;
}

int
cli_help_cmd(int argc, char **argv)
{
    int k;
    const struct cli_cmd *c;

    if (argc == 0) {
        cli_help_print(stdout);
        return CLI_OK;
    }
    c = cli_cmd_find(argc, argv, &k);
    if (c && k == argc) {
        current = c;
        return cli_usage(c->name);
    }
    if (cli_cmd_list_family(stdout, argv[0]))
        return CLI_OK;
    fprintf(stderr, "almanac: no command '%s'\n", argv[0]);
    return CLI_EUSAGE;
}
