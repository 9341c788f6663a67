/* SPDX-License-Identifier: ISC */
#ifndef ATC_MQ_PRIV_H
#define ATC_MQ_PRIV_H

/* Private to mq.c, mq_publish.c and mq_consume.c. */
#include <amqp.h>

struct atc_mq {
	amqp_connection_state_t	 conn;		/* owned */
	amqp_channel_t		 channel;	/* always 1 */
	uint64_t		 next_tag;	/* confirm mode: next delivery tag */
	uint64_t		 acked;		/* highest contiguous acked tag */
	int			 confirm;	/* confirm mode on */
	int			 nacked;	/* broker refused a message */
	/* Tags in (acked, acked + ATC_MQ_WINDOW] acked out of order. */
	uint8_t			*window;	/* owned bitmap */
};

/* Most unconfirmed publishes a connection may have outstanding. */
#define ATC_MQ_WINDOW	65536

/* Turns an amqp_rpc_reply_t into a message in err; returns -1 unless the
 * reply is normal (then 0). */
int	atc_mq_reply_check(amqp_rpc_reply_t, const char *what, char *err,
	    size_t errlen);

#endif
