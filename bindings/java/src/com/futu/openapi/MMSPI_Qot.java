package com.futu.openapi;

import com.futu.openapi.pb.Notify;
import com.futu.openapi.pb.QotGetUserSecurityGroup;

/** The moomoo name of {@link FTSPI_Qot}. */
public interface MMSPI_Qot {
    default void onReply_GetUserSecurityGroup(MMAPI_Conn client, int nSerialNo, QotGetUserSecurityGroup.Response rsp) {}
    default void onPush_Notify(MMAPI_Conn client, Notify.Response rsp) {}
}
