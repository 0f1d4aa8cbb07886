/* app/ratelimit.c: token buckets (ratelimit.h). */
#include "app/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/mem.h"

struct rl_slot {
    char key[RL_KEY_MAX];
    double tokens;
    double last;
};

struct ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    struct rl_slot *slots;
};

static int
parse_num(const char *s, size_t n, double *out)
{
    char buf[32];
    char *end = NULL;
    double v;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.'))
            return -1;
    v = strtod(buf, &end);
    if (!end || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int
rl_parse(const char *spec, double *rate, double *burst)
{
    const char *slash = strstr(spec, "/s");
    const char *comma;

    if (!slash || parse_num(spec, (size_t)(slash - spec), rate) < 0 || *rate <= 0 ||
        *rate > RL_RATE_MAX)
        return -1;
    comma = slash + 2;
    if (*comma == '\0') {
        *burst = *rate < 1 ? 1 : ceil(*rate);
        return 0;
    }
    if (*comma != ',' || parse_num(comma + 1, strlen(comma + 1), burst) < 0 || *burst < 1 ||
        *burst > RL_RATE_MAX || *burst != floor(*burst))
        return -1;
    return 0;
}

struct ratelimit *
rl_new(double rate, double burst)
{
    struct ratelimit *rl;

    if (rate <= 0)
        return NULL;
    rl = xcalloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->slots = xcalloc(RL_SLOTS, sizeof(*rl->slots));
    return rl;
}

void
rl_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

int
rl_take(struct ratelimit *rl, const char *key, double now, unsigned *retry_after)
{
    uint64_t h = 1469598103934665603ull;
    struct rl_slot *s;
    int ret = 0;

    if (!rl)
        return 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    pthread_mutex_lock(&rl->mu);
    s = &rl->slots[h % RL_SLOTS];
    if (strncmp(s->key, key, sizeof(s->key)) != 0 || s->key[0] == '\0') {
        /* A new client, or one whose slot was taken over: a full bucket. */
        snprintf(s->key, sizeof(s->key), "%s", key);
        s->tokens = rl->burst;
        s->last = now;
    }
    if (now > s->last) {
        s->tokens = fmin(rl->burst, s->tokens + (now - s->last) * rl->rate);
        s->last = now;
    }
    if (s->tokens >= 1) {
        s->tokens -= 1;
    } else {
        double wait = (1 - s->tokens) / rl->rate;

        *retry_after = wait < 1 ? 1u : (unsigned)ceil(wait);
        ret = -1;
    }
    pthread_mutex_unlock(&rl->mu);
    return ret;
}
