#include "aead.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct aead_ctx {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
};

aead_ctx *aead_new(void) {
  aead_ctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->enc = EVP_CIPHER_CTX_new();
  c->dec = EVP_CIPHER_CTX_new();
  if (!c->enc || !c->dec || !EVP_EncryptInit_ex(c->enc, EVP_chacha20_poly1305(), NULL, NULL, NULL) ||
      !EVP_DecryptInit_ex(c->dec, EVP_chacha20_poly1305(), NULL, NULL, NULL)) {
    aead_free(c);
    return NULL;
  }
  return c;
}

void aead_free(aead_ctx *c) {
  if (!c) return;
  EVP_CIPHER_CTX_free(c->enc);
  EVP_CIPHER_CTX_free(c->dec);
  free(c);
}

int aead_seal(aead_ctx *c, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
              uint8_t *data, size_t len, uint8_t *tag) {
  int l = 0;
  if (!EVP_EncryptInit_ex(c->enc, NULL, NULL, key, nonce)) return -1;
  if (adlen && !EVP_EncryptUpdate(c->enc, NULL, &l, ad, (int)adlen)) return -1;
  if (len && !EVP_EncryptUpdate(c->enc, data, &l, data, (int)len)) return -1;
  if (!EVP_EncryptFinal_ex(c->enc, data + len, &l)) return -1;
  if (!EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_AEAD_GET_TAG, 16, tag)) return -1;
  return 0;
}

int aead_open(aead_ctx *c, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
              uint8_t *data, size_t len, const uint8_t *tag) {
  int l = 0;
  if (!EVP_DecryptInit_ex(c->dec, NULL, NULL, key, nonce)) return -1;
  if (!EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag)) return -1;
  if (adlen && !EVP_DecryptUpdate(c->dec, NULL, &l, ad, (int)adlen)) return -1;
  if (len && !EVP_DecryptUpdate(c->dec, data, &l, data, (int)len)) return -1;
  if (EVP_DecryptFinal_ex(c->dec, data + len, &l) <= 0) return -1;
  return 0;
}
