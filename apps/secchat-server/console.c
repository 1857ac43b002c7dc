/* The operator's console: events printed as the original did, commands read from stdin. */
#include <stdio.h>
#include <string.h>

#include "server_app.h"

void print_event(void *arg, const secchat_server_event *ev)
{
    const int *quiet = arg;
    if (!ev->line)
        return;
    /* Only the listening line with --quiet: scripts read the port from it. */
    if (*quiet && ev->type != SECCHAT_SERVER_EVENT_LISTENING)
        return;
    /* One fputs per line: stdio locks the stream, so lines of workers never interleave. */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\n", ev->line);
    fputs(buf, stdout);
    /* The original's opening lines, before any connection can be reported. */
    if (ev->type == SECCHAT_SERVER_EVENT_LISTENING && !*quiet) {
        printf("Using Noise protocol: %s\n", SECCHAT_DEFAULT_PROTOCOL);
        printf("Server key fingerprint: %s\n", ev->fingerprint ? ev->fingerprint : "?");
        printf("Commands: '@ClientName message' to send to specific client, or 'message' to broadcast "
               "(/list, /rooms, /kick NAME, /quit)\n");
    }
}

static void print_member(void *arg, const secchat_server_member_info *m)
{
    (void)arg;
    printf("  %s  room %s  from %s  key %s\n", m->name, m->room, m->address, m->fingerprint);
}

static void print_room(void *arg, const char *room, unsigned members)
{
    (void)arg;
    printf("  %s (%u)\n", room, members);
}

static const char console_help[] = "Console commands:\n"
                                   "  text           broadcast text to everyone (//text for a line starting with /)\n"
                                   "  @NAME text     send text to NAME only\n"
                                   "  /list          members, their rooms, addresses and key fingerprints\n"
                                   "  /rooms         rooms and their sizes\n"
                                   "  /kick NAME     disconnect NAME (close code 1008)\n"
                                   "  /quit          shut down (clients get close code 1001)\n";

int console_line(secchat_server *srv, char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len == 0)
        return 0;
    if (line[0] == '@') {
        char *text = strchr(line, ' ');
        if (!text || !text[1] || text == line + 1) {
            printf("Usage: @NAME message\n");
            return 0;
        }
        *text++ = '\0';
        int rc = secchat_server_send_to(srv, line + 1, text);
        if (rc == SECCHAT_OK)
            printf("To %s: %s\n", line + 1, text);
        else if (rc == SECCHAT_ERR_NO_SUCH_MEMBER)
            printf("Client '%s' not found\n", line + 1);
        else
            printf("Not sent: %s\n", secchat_strerror(rc));
        return 0;
    }
    if (line[0] == '/' && line[1] != '/') {
        if (strcmp(line, "/quit") == 0)
            return 1;
        if (strcmp(line, "/list") == 0) {
            int n = secchat_server_list(srv, NULL, print_member, NULL);
            printf("%d member%s connected\n", n, n == 1 ? "" : "s");
        } else if (strcmp(line, "/rooms") == 0) {
            int n = secchat_server_rooms(srv, print_room, NULL);
            printf("%d room%s\n", n, n == 1 ? "" : "s");
        } else if (strncmp(line, "/kick ", 6) == 0 && line[6]) {
            int rc = secchat_server_kick(srv, line + 6, NULL);
            if (rc == SECCHAT_OK)
                printf("Kicked %s\n", line + 6);
            else if (rc == SECCHAT_ERR_NO_SUCH_MEMBER)
                printf("Client '%s' not found\n", line + 6);
            else
                printf("Not kicked: %s\n", secchat_strerror(rc));
        } else {
            fputs(console_help, stdout);
        }
        return 0;
    }
    const char *text = line[0] == '/' ? line + 1 : line;
    int rc = secchat_server_broadcast(srv, text);
    if (rc == SECCHAT_OK)
        printf("Broadcast: %s\n", text);
    else
        printf("Not sent: %s\n", secchat_strerror(rc));
    return 0;
}
