# The official Python sample for Get Groups From Watchlist, with only its import changed
# (`from futu import *` -> `from opend import *`) and the port taken from the command line.
import sys
from opend import *

quote_ctx = OpenQuoteContext(host='127.0.0.1', port=int(sys.argv[1]))  # Create quote object
ret, data = quote_ctx.get_user_security_group(group_type = UserSecurityGroupType.ALL)
if ret == RET_OK:
    print(data)
else:
    print('error:', data)
quote_ctx.close()  # After using the connection, remember to close it to prevent the number of connections from running out
