package com.futu.openapi;

import com.futu.openapi.pb.Notify;
import com.futu.openapi.pb.QotGetUserSecurityGroup;

/** The moomoo name of {@link FTAPI_Conn_Qot}. */
public class MMAPI_Conn_Qot extends MMAPI_Conn {
    private volatile MMSPI_Qot qotSpi;

    public void setQotSpi(MMSPI_Qot spi) {
        qotSpi = spi;
    }

    public int getUserSecurityGroup(QotGetUserSecurityGroup.Request req) {
        return sendGetUserSecurityGroup(req);
    }

    @Override
    void onReplyGetUserSecurityGroup(int serialNo, QotGetUserSecurityGroup.Response rsp) {
        MMSPI_Qot s = qotSpi;
        if (s != null) s.onReply_GetUserSecurityGroup(this, serialNo, rsp);
    }

    @Override
    void onPushNotify(Notify.Response rsp) {
        MMSPI_Qot s = qotSpi;
        if (s != null) s.onPush_Notify(this, rsp);
    }
}
