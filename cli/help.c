/* cli/help.c: the long help of each command and what is made from it (see
 * cli/help.h). One text, so `almanac help X`, `man almanac` and the completions
 * cannot disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/buf.h"
#include "app/mem.h"
#include "cli/help.h"
#include "cli/state.h"

#define WORD_MAX 64
#define SUGGEST_MAX_DISTANCE 2

static const struct cli_cmd *const groups[] = {
#define CLI_GROUP_ENTRY(g) cli_cmds_##g,
    CLI_COMMAND_GROUPS(CLI_GROUP_ENTRY)
#undef CLI_GROUP_ENTRY
};

#define RESOLVE_HELP                                                                               \
    "  -d, --date DATE          compatibility date YYYY-MM-DD (default: the config's)\n"           \
    "  -f, --flag FLAG          a compatibility flag; repeat it; replaces the config's flags\n"    \
    "  -r, --requirements FILE  requirements.txt of the worker (default: none)\n"                  \
    "      --as-of DATE         judge end of support as of DATE (default: the server's today)\n"   \
    "      --allow-experimental accept experimental flags (default: refused)\n"                    \
    "  -c, --config FILE        wrangler.toml / wrangler.json / wrangler.jsonc\n"

#define LOCK_HELP                                                                                  \
    "almanac.lock beside the config (see 'almanac help lock'):\n"                                  \
    "      --locked             fail (exit 1) when the config no longer resolves to the lock\n"    \
    "      --frozen             use the lock without asking the server\n"                          \
    "      --offline            (global) no network: as --frozen, every artifact already\n"        \
    "                           cached; with no lock file, the last verified snapshot\n"           \
    "  default: use the lock when the config is unchanged; re-lock (and say so) when not\n"

struct help {
    const char *name;
    const char *text;
};

static const struct help helps[] = {
    {"resolve", "options:\n" RESOLVE_HELP LOCK_HELP},
    {"diff", "FROM and TO are compatibility dates.\noptions:\n" RESOLVE_HELP},
    {"flags", "NAME shows one flag in full; without it, a table fitted to the terminal.\n"},
    {"lock show", "options:\n      --raw                print the signed bytes as they are\n"},
    {"fetch",
     "options:\n  -l, --lock ID            fetch the files of this lock id\n" RESOLVE_HELP},
    {"verify", "options:\n  -l, --lock ID            check only the files of this lock\n"
               "      --repair             remove files that fail (default: report only)\n"},
    /* run and dev list their own options in their usage (cli/run_cmd.c). */
    {"run", LOCK_HELP},
    {"dev", LOCK_HELP},
    {"import pyodide",
     "options:\n      --release-date DATE  the release's date (default: from its package)\n"
     "      --publish            publish the runtime and package set at once\n"},
    {"upload",
     "options:\n      --file-name NAME     the artifact's file name (default: the path's)\n"},
    {"workers deploy", "options:\n" RESOLVE_HELP LOCK_HELP},
    {"workers list", "options:\n"
                     "      --python-line LINE   only workers on this Python line\n"
                     "      --runtime ID         only workers on this runtime\n"
                     "      --status STATUS      supported, ending, ended or blocked\n"
                     "      --ends-before DATE   only workers whose line ends before DATE\n"
                     "  -n, --limit N            a page of N workers (default: the server's)\n"
                     "      --cursor C           the page after C\n"
                     "  -a, --all                every page\n"},
    {"eol plan", "options:\n      --as-of DATE         the date to plan for (default: today)\n"
                 "  -s, --summary            totals only\n"},
    {"eol apply",
     "options:\n"
     "      --as-of DATE         the date to apply for (default: today); a date after\n"
     "                           today asks for confirmation on a terminal\n"
     "  -s, --summary            totals only\n"
     "      --notify-upcoming    also send upcoming end-of-support notices\n"
     "  -y, --yes                apply a future --as-of without asking (needed off a terminal)\n"},
    {"eol upcoming",
     "options:\n      --as-of DATE         the date to look from (default: today)\n"},
    {"lock", "Resolves the config (CONFIG, or a wrangler.* in DIR or the current directory) and\n"
             "writes almanac.lock beside it: the lock's id, its signature and the lock itself,\n"
             "for review and commit. run, dev, deploy and resolve then use it.\n"
             "options:\n" RESOLVE_HELP
             "      --locked             write nothing; exit 1 when the file is out of date\n"},
    {"upgrade",
     "Diffs the config's current inputs against the new date: flags on and off, Python\n"
     "line and runtime, package changes (major versions marked).\n"
     "options:\n"
     "      --to today|DATE      the new date (default: today, the server's or local UTC)\n"
     "  -w, --write              rewrite compatibility_date in the config (formatting and\n"
     "                           comments kept) and almanac.lock\n" RESOLVE_HELP},
    {"check",
     "Exit codes: 0 supported (or ending, without --fail-on ending); 6 the Python line\n"
     "has ended, or ends within the window with --fail-on ending; others as below.\n"
     "options:\n"
     "      --fail-on ending|ended  fail when ending (or ended), or only when ended (default)\n"
     "      --warn-before DAYS   count as ending DAYS before end of support (default: 180)\n"
     "      --locked             also fail when almanac.lock is out of date\n" RESOLVE_HELP},
    {"init", "Writes wrangler.toml (today's date, python_workers, disable_python_external_sdk),\n"
             "src/entry.py (a hello worker) and .gitignore into DIR (default: .).\n"
             "options:\n  -n, --name NAME          the worker's name (default: DIR's name)\n"},
    {"cache prune",
     "Keeps every file an almanac.lock under DIR (default: .) needs, and what was used\n"
     "in the last DAYS. Trust state (pinned keys) is never in the cache.\n"
     "options:\n      --older-than DAYS    remove what was unused for DAYS (default: 30)\n"},
    {"completion", "Load it with: source <(almanac completion bash)\n"},
};

static const struct help *
find_help(const char *name)
{
    for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
        if (!strcmp(helps[i].name, name))
            return &helps[i];
    return NULL;
}

const char *
cli_help_text(const char *cmd_name)
{
    const struct help *h = cmd_name ? find_help(cmd_name) : NULL;

    return h ? h->text : NULL;
}

/* Each "--name" in text, once, separated by spaces, appended to b. */
static void
options_of(const char *text, struct buf *b)
{
    for (const char *p = text ? strstr(text, "--") : NULL; p; p = strstr(p + 2, "--")) {
        size_t n = 2;
        char w[WORD_MAX];

        while (p[n] && (p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z')))
            n++;
        if (n <= 2 || n >= sizeof(w))
            continue;
        snprintf(w, sizeof(w), " %.*s ", (int)n, p);
        if (b->data && strstr(b->data, w))
            continue;
        if (buf_printf(b, "%.*s ", (int)n, p) < 0)
            abort();
    }
}

static const char global_options[] = "--server --json --key --quiet --help --color --version ";

int
cli_completion_print(FILE *f, const char *shell)
{
    int bash = !strcmp(shell, "bash"), zsh = !strcmp(shell, "zsh"), fish = !strcmp(shell, "fish");
    struct buf firsts;

    if (!bash && !zsh && !fish)
        return -1;
    buf_init(&firsts, 0);
    if (buf_puts(&firsts, " help ") < 0)
        abort();
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++) {
            char w[WORD_MAX];

            snprintf(w, sizeof(w), " %.*s ", (int)strcspn(c->name, " "), c->name);
            if (!strstr(firsts.data, w) && buf_puts(&firsts, w + 1) < 0)
                abort();
        }
    if (fish) {
        fprintf(f, "# fish completion for almanac (almanac completion fish)\n"
                   "complete -c almanac -f\n");
        fprintf(f, "complete -c almanac -n __fish_use_subcommand -a '%s'\n", firsts.data + 1);
    } else {
        if (zsh)
            fprintf(f, "#compdef almanac\nautoload -U +X bashcompinit && bashcompinit\n");
        fprintf(f,
                "# %s completion for almanac (almanac completion %s)\n_almanac() {\n"
                "    local cur=${COMP_WORDS[COMP_CWORD]} w1=${COMP_WORDS[1]} "
                "w2=${COMP_WORDS[2]} words=\n"
                "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
                "        COMPREPLY=($(compgen -W '%s%s' -- \"$cur\")); return\n"
                "    fi\n"
                "    case \"$w1 $w2\" in\n",
                shell, shell, firsts.data + 1, global_options);
    }
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++) {
            struct buf o;
            const char *sp = strchr(c->name, ' ');

            buf_init(&o, 0);
            if (buf_puts(&o, " ") < 0)
                abort();
            options_of(c->usage, &o);
            options_of(cli_help_text(c->name), &o);
            if (fish) {
                if (sp)
                    fprintf(f,
                            "complete -c almanac -n '__fish_seen_subcommand_from %.*s; and not "
                            "__fish_seen_subcommand_from %s' -a '%s' -d '%s'\n",
                            (int)(sp - c->name), c->name, sp + 1, sp + 1, "");
                for (const char *p = o.data + 1; *p;) {
                    size_t n = strcspn(p, " ");

                    fprintf(f,
                            "complete -c almanac -n '__fish_seen_subcommand_from %.*s' -l '%.*s'\n",
                            (int)strcspn(c->name, " "), c->name, (int)(n - 2), p + 2);
                    p += n;
                    while (*p == ' ')
                        p++;
                }
            } else if (sp) {
                fprintf(f, "    \"%s\") words='%s%s' ;;\n", c->name, o.data + 1, global_options);
            } else {
                fprintf(f, "    \"%s \"*) words='%s%s' ;;\n", c->name, o.data + 1, global_options);
            }
            buf_release(&o);
        }
    if (!fish) {
        /* The second word of a multi-word command. */
        fprintf(f, "    *)\n        case \"$w1\" in\n");
        for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
            for (const struct cli_cmd *c = groups[g]; c->name; c++) {
                const char *sp = strchr(c->name, ' ');

                if (sp && (c == groups[g] ||
                           strncmp(c[-1].name, c->name, (size_t)(sp - c->name) + 1) != 0)) {
                    fprintf(f, "        %.*s) words='", (int)(sp - c->name), c->name);
                    for (const struct cli_cmd *d = c;
                         d->name && !strncmp(d->name, c->name, (size_t)(sp - c->name) + 1); d++)
                        fprintf(f, "%s ", d->name + (sp - c->name) + 1);
                    fprintf(f, "' ;;\n");
                }
            }
        fprintf(f, "        esac ;;\n    esac\n"
                   "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
                   "    [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
                   "}\ncomplete -F _almanac almanac\n");
    }
    buf_release(&firsts);
    return 0;
}

/* roff-escape a line: backslashes and leading dots/quotes. */
static void
roff(FILE *f, const char *s, size_t n)
{
    if (n && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", f);
        else if (s[i] == '-')
            fputs("\\-", f);
        else
            fputc(s[i], f);
    }
}

static void
roff_block(FILE *f, const char *text)
{
    fputs(".nf\n", f);
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");

        roff(f, p, n);
        fputc('\n', f);
        p += n;
        if (*p)
            p++;
    }
    fputs(".fi\n", f);
}

void
cli_manpage_print(FILE *f, const char *tail)
{
    fprintf(f,
            ".TH ALMANAC 1 \"\" \"almanac %s\" \"User Commands\"\n"
            ".SH NAME\nalmanac \\- pin Python workers to the exact Pyodide runtime their "
            "compatibility date resolves to\n"
            ".SH SYNOPSIS\n.B almanac\n[\\fB\\-\\-server\\fR \\fIURL\\fR] [\\fB\\-\\-json\\fR] "
            "[\\fB\\-\\-key\\fR \\fIFILE\\fR] [\\fB\\-\\-color\\fR \\fIWHEN\\fR] "
            "\\fICOMMAND\\fR [\\fIARGS\\fR]\n"
            ".SH DESCRIPTION\nThe client of almanacd: resolves compatibility dates and flags "
            "to signed locks, runs workers on them, and manages a project's almanac.lock.\n"
            ".SH COMMANDS\n",
            ALMANAC_CLI_VERSION);
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (const struct cli_cmd *c = groups[g]; c->name; c++) {
            const char *h = cli_help_text(c->name);

            fputs(".TP\n.B almanac ", f);
            roff(f, c->name, strlen(c->name));
            fputc(' ', f);
            roff(f, c->usage, strlen(c->usage));
            fputc('\n', f);
            roff(f, c->summary, strlen(c->summary));
            fputc('\n', f);
            if (h)
                roff_block(f, h);
        }
    fputs(".SH GLOBAL OPTIONS AND EXIT STATUS\n", f);
    roff_block(f, tail);
    fputs(".SH SEE ALSO\n.BR almanacd (8)\n", f);
}

/* Levenshtein distance, bounded by the short words compared here. */
static size_t
distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[WORD_MAX + 1], cur[WORD_MAX + 1];

    if (la > WORD_MAX || lb > WORD_MAX)
        return WORD_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

static char suggestion[WORD_MAX];

static void
consider(const char *cand, size_t n, const char *word, size_t *best)
{
    char w[WORD_MAX];
    size_t d;

    if (n >= sizeof(w))
        return;
    snprintf(w, sizeof(w), "%.*s", (int)n, cand);
    d = distance(word, w);
    if (d < *best) {
        *best = d;
        snprintf(suggestion, sizeof(suggestion), "%s", w);
    }
}

const char *
cli_did_you_mean(const char *cmd_name, const char *word)
{
    size_t best = SUGGEST_MAX_DISTANCE + 1, lw = strlen(word);

    suggestion[0] = '\0';
    if (word[0] == '-') {
        struct buf o;
        const struct cli_cmd *cmd = NULL;

        for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]) && !cmd; g++)
            for (const struct cli_cmd *c = groups[g]; c->name; c++)
                if (cmd_name && !strcmp(c->name, cmd_name))
                    cmd = c;
        buf_init(&o, 0);
        if (buf_puts(&o, " ") < 0)
            abort();
        if (cmd)
            options_of(cmd->usage, &o);
        options_of(cli_help_text(cmd_name), &o);
        if (buf_puts(&o, global_options) < 0)
            abort();
        for (const char *p = o.data; *p;) {
            size_t n;

            while (*p == ' ')
                p++;
            n = strcspn(p, " ");
            if (n)
                consider(p, n, word, &best);
            p += n;
        }
        buf_release(&o);
    } else {
        consider("help", 4, word, &best);
        for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
            for (const struct cli_cmd *c = groups[g]; c->name; c++)
                consider(c->name, strcspn(c->name, " "), word, &best);
    }
    /* A one-letter word is one edit from every one-letter command: no guess. */
    return suggestion[0] && best <= SUGGEST_MAX_DISTANCE && best < lw ? suggestion : NULL;
}
