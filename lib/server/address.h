/* Listen addresses: "ADDR:PORT" text to a socket address and back. */
#ifndef SC_SERVER_ADDRESS_H
#define SC_SERVER_ADDRESS_H

#include <sys/socket.h>

/* "127.0.0.1:65535", "[ffff:...:ffff%ifname]:65535" and a NUL fit. */
#define SC_ADDRESS_TEXT_MAX 80

/*
 * Parses "host:port": an IPv4 address, a bracketed IPv6 address or a host
 * name (resolved with getaddrinfo, first answer), and a decimal port 0-65535.
 * SECCHAT_OK or SECCHAT_ERR_ADDRESS.
 */
int sc_address_parse(const char *text, struct sockaddr_storage *out, socklen_t *out_len);

/* "1.2.3.4:80" or "[::1]:80"; an unknown family gives "?". */
void sc_address_format(const struct sockaddr *sa, char out[SC_ADDRESS_TEXT_MAX]);

#endif /* SC_SERVER_ADDRESS_H */
