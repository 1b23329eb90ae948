/* http.c: one set-up for every transfer (poller, OAuth, NetBox), so their limits cannot drift. */
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"

/* A peer that sends less than a byte a second for this long is dead, whatever the timeout. */
#define HTTP_LOW_SPEED_TIME 30L

static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_rx *rx = arg;

	/* Debian's libcurl does not cap chunked or compressed bodies: the cap is ours. */
	if (rx->body.len + n > rx->max) {
		rx->too_big = 1;
		return 0;
	}
	sbuf_add(&rx->body, data, n);
	return n;
}

static size_t
http_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_rx *rx = arg;
	size_t klen = strlen(rx->keep_header), len = n;

	if (len > klen + 1 && strncasecmp(data, rx->keep_header, klen) == 0 && data[klen] == ':') {
		data += klen + 1;
		len -= klen + 1;
		while (len > 0 && (*data == ' ' || *data == '\t')) {
			data++;
			len--;
		}
		while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n' ||
		                   data[len - 1] == ' ' || data[len - 1] == '\t'))
			len--;
		if (len < sizeof(rx->header)) {
			memcpy(rx->header, data, len);
			rx->header[len] = '\0';
		}
	}
	return n;
}

CURL *
http_easy(const struct http_limits *lim, const char *url, void *owner, struct http_rx *rx)
{
	CURL *e;

	http_rx_free(rx);
	rx->max = lim->max_response;
	rx->too_big = 0;
	rx->errbuf[0] = '\0';
	rx->header[0] = '\0';
	if ((e = curl_easy_init()) == NULL)
		return NULL;
	if (rx->keep_header != NULL) {
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, rx);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, owner);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, rx);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, rx->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* config_url_allowed() let plain http through only for a loopback host. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
	                 strncmp(lim->url, "https:", 6) == 0 ? "https" : "http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(lim->connect_timeout / 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(lim->request_timeout / 1000));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, HTTP_LOW_SPEED_TIME);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->max_response);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tsinvd/" PACKAGE_VERSION);
	return e;
}

char *
http_error(const struct http_limits *lim, CURLcode code, const struct http_rx *rx)
{
	const char *why = rx->errbuf[0] ? rx->errbuf : curl_easy_strerror(code);

	if (rx->too_big || code == CURLE_FILESIZE_EXCEEDED)
		return xasprintf("answer larger than max_response (%zu bytes)",
		                 rx->max < lim->max_response ? rx->max : lim->max_response);
	if (code == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("no answer within request_timeout (%s)", why);
	if (code != CURLE_OK)
		return xstrdup(why);
	return NULL;
}

void
http_rx_free(struct http_rx *rx)
{
	sbuf_free(&rx->body);
}
