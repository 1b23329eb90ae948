/* events.h: both halves of events, for the files that use both: the types and globs
 * (event-type.h, common) and the log in the store (event-log.h). New code includes the half it
 * needs. */
#ifndef TSINV_EVENTS_H
#define TSINV_EVENTS_H

#include "event-log.h"
#include "event-type.h"

#endif
