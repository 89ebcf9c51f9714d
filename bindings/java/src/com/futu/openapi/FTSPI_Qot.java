package com.futu.openapi;

import com.futu.openapi.pb.Notify;
import com.futu.openapi.pb.QotGetUserSecurityGroup;

/** Quote replies. Every request gets exactly one reply: OpenD's (retType 0 / -1) or -100 timeout, -200 disconnected, -500 unparsable. */
public interface FTSPI_Qot {
    default void onReply_GetUserSecurityGroup(FTAPI_Conn client, int nSerialNo, QotGetUserSecurityGroup.Response rsp) {}
    /** A Notify push (proto 1003) from OpenD. */
    default void onPush_Notify(FTAPI_Conn client, Notify.Response rsp) {}
}
