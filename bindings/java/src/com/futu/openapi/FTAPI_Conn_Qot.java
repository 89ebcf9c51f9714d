package com.futu.openapi;

import com.futu.openapi.pb.Notify;
import com.futu.openapi.pb.QotGetUserSecurityGroup;

/** A quote connection. */
public class FTAPI_Conn_Qot extends FTAPI_Conn {
    private volatile FTSPI_Qot qotSpi;

    public void setQotSpi(FTSPI_Qot spi) {
        qotSpi = spi;
    }

    /** Get Groups From Watchlist: the serial number (reply in onReply_GetUserSecurityGroup), or 0 if not sent. */
    public int getUserSecurityGroup(QotGetUserSecurityGroup.Request req) {
        return sendGetUserSecurityGroup(req);
    }

    @Override
    void onReplyGetUserSecurityGroup(int serialNo, QotGetUserSecurityGroup.Response rsp) {
        FTSPI_Qot s = qotSpi;
        if (s != null) s.onReply_GetUserSecurityGroup(this, serialNo, rsp);
    }

    @Override
    void onPushNotify(Notify.Response rsp) {
        FTSPI_Qot s = qotSpi;
        if (s != null) s.onPush_Notify(this, rsp);
    }
}
