"""How messages are written out (.eml and SMTP): CRLF, headers unfolded."""
from __future__ import annotations

from email import policy

# Python 3.11 drops the space where it folds a header between encoded words ("quý I/2019 -CĐCS");
# unfolded, a long encoded word is read correctly by every common mail client.
WIRE = policy.SMTP.clone(max_line_length=998)
