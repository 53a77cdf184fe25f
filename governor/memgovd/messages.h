/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* MESSAGE_IDs of memgov's structured journal records. Each has an entry in
 * units/memgov.catalog, so `journalctl -x` explains it. Made once with
 * `systemd-id128 new`; never change them: admins filter on them. */

#define MEMGOV_MESSAGE_LIMIT           "7bf5b5e34fdd4f2fb5a3eb4c013fb912"
#define MEMGOV_MESSAGE_WARN            "1a8ca5f5ae324f05b9a9bf3fb8a13b3f"
#define MEMGOV_MESSAGE_KILL            "7af93c5dcd9341d5aaf88e53dc7505f8"
#define MEMGOV_MESSAGE_KERNEL_OOM_KILL "24880ba3bc9b45a19cc7b7f6fa4bd95d"
#define MEMGOV_MESSAGE_CONFIG_ERROR    "5dfa8198da5a4b6986a5df2732498618"
#define MEMGOV_MESSAGE_REFUSED         "d0128836978e419e8bd40653063a1756"
