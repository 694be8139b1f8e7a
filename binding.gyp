{
  "targets": [
    {
      "target_name": "weft_native",
      "sources": ["src/native/weft_native.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
