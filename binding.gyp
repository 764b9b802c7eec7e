{
  "targets": [
    {
      "target_name": "weft_sys",
      "sources": ["router/kernel/native/weft_sys.c", "router/kernel/native/weft_tun.c"],
      "include_dirs": ["router/kernel/native"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
