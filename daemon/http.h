/* http.h: what every HTTP transfer of the daemon shares: TLS floor, timeouts, size cap. */
#ifndef TSINV_HTTP_H
#define TSINV_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "sbuf.h"

/* The limits of one service, from its config section. url is the configured base URL: plain
 * http only for a loopback host (config_url_allowed checked that), else https. */
struct http_limits {
	const char *url;
	int64_t connect_timeout; /* us */
	int64_t request_timeout; /* us */
	size_t max_response;     /* bytes; a body over it aborts the transfer */
};

/* One transfer's answer as it arrives: the body, capped, and curl's error text. */
struct http_rx {
	struct sbuf body;
	size_t max; /* the cap; set by http_easy from the limits, callers may lower it */
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
	/* Set by the caller, kept across transfers: a response header whose value is kept in
	 * header ("" when absent or too long), or NULL. */
	const char *keep_header;
	char header[64];
};

/* A new easy handle for URL with every shared option set (protocols, no redirects, TLS 1.2+
 * with peer and host checks, the connect and request timeouts, an abort below 1 byte/s for
 * 30 s, the size cap counted by us, compression, our User-Agent); PRIVATE is OWNER and the
 * body goes to RX, which is reset. The caller adds headers and the method. NULL when curl
 * cannot make one. */
CURL *http_easy(const struct http_limits *lim, const char *url, void *owner, struct http_rx *rx);

/* Why a finished transfer failed as a transfer (malloc'd), or NULL when it went through and
 * the HTTP status is the caller's to judge. */
char *http_error(const struct http_limits *lim, CURLcode code, const struct http_rx *rx);

/* Frees the body and resets it. */
void http_rx_free(struct http_rx *rx);

#endif
