# The official "Get Groups From Watchlist" sample for Python with one line changed: the
# import names the opend package instead of the official one. OpenD's API port 11111, as published.
from opend import *
quote_ctx = OpenQuoteContext(host='127.0.0.1', port=11111)

ret, data = quote_ctx.get_user_security_group(group_type = UserSecurityGroupType.ALL)
if ret == RET_OK:
    print(data)
else:
    print('error:', data)
quote_ctx.close() # After using the connection, remember to close it to prevent the number of connections from running out
