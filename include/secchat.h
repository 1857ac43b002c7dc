/*
 * libsecchat: secure multi-client chat over WebSockets and Noise.
 *
 * This umbrella header is the only one applications include; it pulls in one
 * header per library module (include/secchat/<module>.h).
 */
#ifndef SECCHAT_H
#define SECCHAT_H

#include "secchat/common.h"
#include "secchat/noise.h"
#include "secchat/ws.h"
#include "secchat/message.h"
#include "secchat/chat.h"
#include "secchat/keys.h"
#include "secchat/server.h"
#include "secchat/client.h"

#endif /* SECCHAT_H */
