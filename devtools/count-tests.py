#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

"""Count the results of a meson test run: prints "passed failed skipped".

Reads <builddir>/meson-logs/testlog.json (one JSON object per test). A
missing log counts nothing.
"""

import json
import sys

PASS = ('OK', 'EXPECTEDFAIL')
SKIP = ('SKIP',)


def main():
    passed = failed = skipped = 0
    try:
        with open(sys.argv[1], encoding='utf-8') as log:
            for line in log:
                if not line.strip():
                    continue
                result = json.loads(line).get('result')
                if result in PASS:
                    passed += 1
                elif result in SKIP:
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        pass
    print(passed, failed, skipped)


if __name__ == '__main__':
    main()
