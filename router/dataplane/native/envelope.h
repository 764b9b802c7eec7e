/*
 * The sleeve envelope (docs/protocol.md): write/parse the 28-byte header and
 * seal/open a packet in place. Pure functions over buffers: the engine's
 * threads and the golden-vector tests (through the addon's test hooks) run the
 * very same code.
 */
#ifndef WEFT_ENVELOPE_H
#define WEFT_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "replay.h"
#include "sleeve_wire.h"

typedef struct {
  uint8_t type;
  uint8_t sealed;
  uint32_t key_id;
  uint64_t counter;
  const uint8_t *sender;
  const uint8_t *receiver;
} slv_hdr;

/* Check version, type, flags, reserved and length (receive steps 1). */
enum slv_err slv_parse(const uint8_t *pkt, size_t len, slv_hdr *h);

/*
 * Build a packet in place: pkt[28 .. 28+body_len) already holds the body.
 * Writes the header and, with key != NULL, seals the body and appends the tag.
 * Returns the packet length.
 */
size_t slv_build(aead_ctx *a, const uint8_t *key, uint32_t key_id, uint8_t type, uint64_t counter,
                 const uint8_t sender[6], const uint8_t receiver[6], uint8_t *pkt, size_t body_len);

/*
 * Open a sealed packet in place after slv_parse: replay pre-check, AEAD open,
 * replay commit (receive steps 4-6). On success *body_len is the plaintext
 * length (the body starts at pkt + 28).
 */
enum slv_err slv_open_sealed(aead_ctx *a, const uint8_t key[32], replay_t *win, uint8_t *pkt, size_t len,
                             const slv_hdr *h, size_t *body_len);

#endif
