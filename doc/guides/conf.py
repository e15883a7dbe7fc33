# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

"""Sphinx configuration of the librte_vfio_user guides."""

import os

_top = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
with open(os.path.join(_top, 'VERSION'), encoding='utf-8') as f:
    release = f.read().strip()
version = '.'.join(release.split('.')[:2])

project = 'librte_vfio_user'
author = 'The librte_vfio_user authors'
copyright = '2026, ' + author

master_doc = 'index'
source_suffix = '.rst'
exclude_patterns = ['_build']
extensions = []

# Numbered figures and tables, and :numref: targets, across all guides.
numfig = True
highlight_language = 'none'
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_title = 'librte_vfio_user ' + release
html_show_sourcelink = False
html_last_updated_fmt = None
