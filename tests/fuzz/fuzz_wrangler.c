/* tests/fuzz/fuzz_wrangler.c: libFuzzer target for the worker config reader
 * (cli/wrangler.c). The first byte picks the reader (TOML, through cli/toml.c, or
 * JSON/JSONC); when its second bit is set, a parsed config also gets --env staging
 * applied. Everything is freed; errors must carry a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/err.h"
#include "cli/wrangler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cli_wrangler w;
    struct app_err err = {0};
    const char *text;
    int rc;

    if (size < 1)
        return 0;
    text = (const char *)data + 1;
    if (data[0] & 1)
        rc = cli_wrangler_parse_json("f.jsonc", text, size - 1, &w, &err);
    else
        rc = cli_wrangler_parse("f.toml", text, size - 1, &w, &err);
    if (rc < 0) {
        if (!err.msg[0])
            abort();
        app_err_release(&err);
        return 0;
    }
    if (w.json && (data[0] & 2)) {
        if (cli_wrangler_apply_env(&w, "staging", &err) < 0 && !err.msg[0])
            abort();
        app_err_release(&err);
    }
    cli_wrangler_release(&w);
    return 0;
}
