{
  "targets": [
    {
      # The freestanding runtime both the child and the init link: the status
      # record, the exec candidates, the seccomp install, LISTEN_PID, signals,
      # decimal text, fd passing.
      # Raw syscalls only; no stack protector (the init has no TLS for its
      # canary) and no libc, checked by test/native/child-symbols.test.js.
      "target_name": "cordon_runtime",
      "type": "none",
      "conditions": [
        ["OS=='linux'", {
          "type": "static_library",
          "sources": [
            "native/runtime/status.cc",
            "native/runtime/exec.cc",
            "native/runtime/signals.cc",
            "native/runtime/seccomp.cc",
            "native/runtime/text.cc",
            "native/runtime/fd_passing.cc"
          ],
          "include_dirs": ["native"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
          "cflags_cc": ["-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables",
                        "-fno-builtin", "-ffreestanding", "-fno-stack-protector", "-fPIC", "-Os", "-ffunction-sections",
                        "-fdata-sections", "-Wall", "-Wextra"]
        }]
      ]
    },
    {
      # Code that runs between clone and execve. Its own target so that it
      # cannot see napi.h, builds without exceptions or RTTI, and can be
      # checked symbol by symbol (test/native/child-symbols.test.ts).
      "target_name": "cordon_child",
      "type": "none",
      "conditions": [
        ["OS=='linux'", {
          "type": "static_library",
          "sources": [
            "native/child/executor.cc",
            "native/child/namespaces.cc",
            "native/child/mounts.cc",
            "native/child/credentials.cc",
            "native/child/stdio.cc",
            "native/child/exec.cc",
            "native/child/limits.cc",
            "native/child/landlock.cc",
            "native/child/seccomp.cc",
            "native/child/cgroups.cc",
            "native/sys/clone_asm.cc"
          ],
          "include_dirs": ["native"],
          "dependencies": ["cordon_runtime"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
          "cflags_cc": ["-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables",
                        "-fno-builtin", "-ffreestanding", "-fPIC", "-Wall", "-Wextra"]
        }]
      ]
    },
    {
      "target_name": "cordon",
      "type": "none",
      "conditions": [
        ["OS=='linux'", {
          "type": "loadable_module",
          "product_extension": "node",
          "sources": [
            "native/binding.cc",
            "native/plan_decode.cc",
            "native/spawn_box.cc",
            "native/spawn_async.cc",
            "native/off_thread.cc",
            "native/env_owned.cc",
            "native/clone.cc",
            "native/exit_watch.cc",
            "native/log_pump.cc",
            "native/probe.cc",
            "native/host/idmap.cc",
            "native/host/cgroups.cc",
            "native/host/sockets.cc",
            "native/host/paths.cc",
            "native/host/layers.cc",
            "native/host/idmapped.cc",
            "native/host/netlink.cc",
            "native/host/bridge.cc",
            "native/host/netns_pool.cc",
            "native/host/sealed_init.cc",
            "native/host/pty.cc",
            "native/host/logs.cc",
            "native/host/quota.cc",
            "native/host/process.cc"
          ],
          "include_dirs": ["native"],
          "dependencies": [
            "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
            "cordon_child"
          ],
          # A call into JS refused because the env is being torn down (a
          # worker thread ending: its loop may run one more turn with no JS
          # allowed) throws a Napi::Error the caller catches, instead of
          # aborting the whole process (FATAL ERROR Error::Error
          # napi_define_properties, from an exit watch or a set-up's settle).
          "defines": ["NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
          "cflags_cc!": ["-std=gnu++17"],
          "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
        }]
      ]
    },
    {
      # PID 1 of boxes with a new pid namespace. Static, so it runs in any root.
      "target_name": "cordon_init",
      "type": "none",
      "conditions": [
        ["OS=='linux'", {
          "type": "executable",
          "sources": ["native/init/cordon_init.cc"],
          "include_dirs": ["native"],
          "dependencies": ["cordon_runtime"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
          "cflags_cc": ["-std=c++17", "-Os", "-Wall", "-Wextra", "-fno-exceptions", "-fno-rtti", "-ffreestanding",
                        "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fno-builtin", "-fno-pie"],
          "ldflags": ["-static", "-nostdlib", "-nostartfiles", "-no-pie", "-Wl,--gc-sections"]
        }]
      ]
    }
  ]
}
