"""Images: the app image, and local stand-ins for third-party images where no registry answers.

`catalog` lists the third-party images, `base` builds the Debian base the stand-ins start
from, `standins` builds the stand-ins, `resolve` picks upstream or stand-in per image
(the `shipyard.images.source` switch). See docs/images.md.
"""
