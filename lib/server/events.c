/* Server events for the embedding program (console lines, logs, hooks). */
#include <string.h>

#include "server/runtime.h"

void sc_event_emit(secchat_server *srv, secchat_server_event *ev)
{
    if (srv->cb.event)
        srv->cb.event(srv->cb.arg, ev);
}

void sc_event_conn(sc_conn *c, enum secchat_server_event_type type, const char *line)
{
    secchat_server_event ev;
    memset(&ev, 0, sizeof ev);
    sc_event_conn_with(c, type, line, &ev);
}

void sc_event_conn_with(sc_conn *c, enum secchat_server_event_type type, const char *line, secchat_server_event *extra)
{
    secchat_server *srv = c->worker->srv;
    if (!srv->cb.event)
        return;
    secchat_server_event ev = *extra; /* text, target, error, close_code */
    ev.type = type;
    ev.id = c->id;
    ev.address = c->address;
    ev.name = c->name[0] ? c->name : NULL;
    ev.room = c->room ? c->room->name : NULL;
    ev.fingerprint = c->fingerprint[0] ? c->fingerprint : NULL;
    ev.line = line;
    srv->cb.event(srv->cb.arg, &ev);
}
