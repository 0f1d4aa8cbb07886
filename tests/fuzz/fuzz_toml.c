/* tests/fuzz/fuzz_toml.c: libFuzzer target for the wrangler.toml reader (cli/toml.c).
 *
 * The input is a TOML document: parsed to JSON or refused with a message; the JSON
 * is printed (every value must be printable) and everything is freed. cli/ is not
 * in the library the fuzzers link, so the parser is compiled in here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cli/toml.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct app_err err = {0};
    cJSON *j = cli_toml_parse("fuzz.toml", (const char *)data, size, &err);

    if (j) {
        char *s = cJSON_PrintUnformatted(j);

        if (!s)
            abort();
        free(s);
        cJSON_Delete(j);
    } else if (err.code != APP_EINVAL || err.msg[0] == '\0') {
        abort();
    }
    app_err_release(&err);
    return 0;
}
