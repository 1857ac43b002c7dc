/* The client's thread-safe inbox of chat lines and close requests; see inbox.h. */
#include <stdlib.h>

#include "client/inbox.h"
#include "common/internal.h"
#include "secchat/common.h"

int sc_inbox_init(sc_inbox *in)
{
    *in = (sc_inbox){0};
    return pthread_mutex_init(&in->lock, NULL) == 0 ? SECCHAT_OK : SECCHAT_ERR_NO_MEMORY;
}

void sc_inbox_destroy(sc_inbox *in)
{
    sc_line *line = in->head;
    while (line) {
        sc_line *next = line->next;
        sc_line_free(line);
        line = next;
    }
    in->head = in->tail = NULL;
    pthread_mutex_destroy(&in->lock);
}

sc_line *sc_line_new(size_t len)
{
    sc_line *line = malloc(sizeof *line + len);
    if (line) {
        line->next = NULL;
        line->len = len;
    }
    return line;
}

void sc_line_free(sc_line *line)
{
    if (line)
        sc_free_secret(line, sizeof *line + line->len);
}

/* Called with the lock held, so the handle cannot be closed meanwhile. */
static void wake_locked(sc_inbox *in)
{
    if (in->wake)
        uv_async_send(in->wake);
}

int sc_inbox_push(sc_inbox *in, sc_line *line)
{
    pthread_mutex_lock(&in->lock);
    if (in->state != SC_INBOX_OPEN || in->close_requested) {
        pthread_mutex_unlock(&in->lock);
        sc_line_free(line);
        return SECCHAT_ERR_NOT_RUNNING;
    }
    line->next = NULL;
    if (in->tail)
        in->tail->next = line;
    else
        in->head = line;
    in->tail = line;
    wake_locked(in);
    pthread_mutex_unlock(&in->lock);
    return SECCHAT_OK;
}

int sc_inbox_request_close(sc_inbox *in)
{
    pthread_mutex_lock(&in->lock);
    int rc = in->state == SC_INBOX_FINISHED ? SECCHAT_ERR_NOT_RUNNING : SECCHAT_OK;
    if (rc == SECCHAT_OK && !in->close_requested) {
        in->close_requested = 1;
        wake_locked(in);
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

sc_line *sc_inbox_pop(sc_inbox *in)
{
    pthread_mutex_lock(&in->lock);
    sc_line *line = in->head;
    if (line) {
        in->head = line->next;
        if (!in->head)
            in->tail = NULL;
        line->next = NULL;
    }
    pthread_mutex_unlock(&in->lock);
    return line;
}

void sc_inbox_unpop(sc_inbox *in, sc_line *line)
{
    pthread_mutex_lock(&in->lock);
    line->next = in->head;
    in->head = line;
    if (!in->tail)
        in->tail = line;
    pthread_mutex_unlock(&in->lock);
}

int sc_inbox_close_requested(sc_inbox *in)
{
    pthread_mutex_lock(&in->lock);
    int r = in->close_requested;
    pthread_mutex_unlock(&in->lock);
    return r;
}

int sc_inbox_empty(sc_inbox *in)
{
    pthread_mutex_lock(&in->lock);
    int r = in->head == NULL;
    pthread_mutex_unlock(&in->lock);
    return r;
}

void sc_inbox_set_state(sc_inbox *in, enum sc_inbox_state state)
{
    pthread_mutex_lock(&in->lock);
    if (state > in->state)
        in->state = state;
    if (state == SC_INBOX_FINISHED)
        in->wake = NULL;
    pthread_mutex_unlock(&in->lock);
}

void sc_inbox_attach(sc_inbox *in, uv_async_t *wake)
{
    pthread_mutex_lock(&in->lock);
    in->wake = in->state == SC_INBOX_FINISHED ? NULL : wake;
    pthread_mutex_unlock(&in->lock);
}
