{
  "targets": [
    {
      "target_name": "weft_sys",
      "sources": [
        "router/kernel/native/weft_sys.c",
        "router/kernel/native/weft_napi.c",
        "router/kernel/native/weft_rtnl.c",
        "router/kernel/native/weft_sock.c",
        "router/kernel/native/weft_tun.c"
      ],
      "include_dirs": ["router/kernel/native"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "libraries": ["-pthread"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "weft_sleeve",
      "sources": [
        "router/dataplane/native/addon.c",
        "router/dataplane/native/engine.c",
        "router/dataplane/native/envelope.c",
        "router/dataplane/native/aead.c",
        "router/dataplane/native/replay.c",
        "router/dataplane/native/mactable.c",
        "router/kernel/native/weft_tun.c"
      ],
      "include_dirs": ["router/dataplane/native", "router/kernel/native"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "libraries": ["-lcrypto", "-pthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
