/* Message rate limit (rate.h). */
#include "server/rate.h"

int sc_rate_allow(uint64_t *tat_us, uint64_t now_us, unsigned rate, unsigned burst)
{
    uint64_t interval = 1000000u / (rate ? rate : 1u);
    uint64_t tolerance = interval * (burst ? burst - 1u : 0u);
    uint64_t tat = *tat_us > now_us ? *tat_us : now_us;
    if (tat - now_us > tolerance)
        return 0;
    *tat_us = tat + interval;
    return 1;
}
