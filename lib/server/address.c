/* "ADDR:PORT" parsing and formatting for the listener and the logs. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secchat/common.h"
#include "server/address.h"

/* The port must be all digits, 0-65535: strtoul would accept "+1" and " 1". */
static int parse_port(const char *s, char out[6])
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    snprintf(out, 6, "%lu", v);
    return 0;
}

int sc_address_parse(const char *text, struct sockaddr_storage *out, socklen_t *out_len)
{
    if (!text || !out || !out_len)
        return SECCHAT_ERR_ADDRESS;
    char host[256];
    const char *port_text;
    size_t host_len;
    int want_v6 = 0;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return SECCHAT_ERR_ADDRESS;
        host_len = (size_t)(close - text - 1);
        memcpy(host, text + 1, host_len < sizeof host ? host_len : 0);
        port_text = close + 2;
        want_v6 = 1;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon)
            return SECCHAT_ERR_ADDRESS;
        host_len = (size_t)(colon - text);
        if (memchr(text, ':', host_len)) /* an unbracketed IPv6 address is ambiguous */
            return SECCHAT_ERR_ADDRESS;
        memcpy(host, text, host_len < sizeof host ? host_len : 0);
        port_text = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof host)
        return SECCHAT_ERR_ADDRESS;
    host[host_len] = '\0';
    char port[6];
    if (parse_port(port_text, port) != 0)
        return SECCHAT_ERR_ADDRESS;

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = want_v6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | (want_v6 ? AI_NUMERICHOST : 0);
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return SECCHAT_ERR_ADDRESS;
    int rc = SECCHAT_ERR_ADDRESS;
    if (res->ai_addrlen <= sizeof *out) {
        memset(out, 0, sizeof *out);
        memcpy(out, res->ai_addr, res->ai_addrlen);
        *out_len = (socklen_t)res->ai_addrlen;
        rc = SECCHAT_OK;
    }
    freeaddrinfo(res);
    return rc;
}

void sc_address_format(const struct sockaddr *sa, char out[SC_ADDRESS_TEXT_MAX])
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, SC_ADDRESS_TEXT_MAX, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(out, SC_ADDRESS_TEXT_MAX, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, SC_ADDRESS_TEXT_MAX, "?");
    }
}
