// The moomoo names of the same API (MMAPI, MMAPI_Conn, MMAPI_Qot, MMSPI_Conn, MMSPI_Qot).
using System;
using System.Threading;
using System.Threading.Tasks;
using Futu.OpenApi;
using Futu.OpenApi.Pb;

namespace Moomoo.OpenApi
{
    public class MMAPI : FTAPI
    {
        protected MMAPI() { }
    }

    public interface MMSPI_Conn
    {
        void OnInitConnect(MMAPI_Conn client, long errCode, string desc);
        void OnDisconnect(MMAPI_Conn client, long errCode);
    }

    public interface MMSPI_Qot
    {
        void OnReply_GetUserSecurityGroup(MMAPI_Conn client, uint nSerialNo, QotGetUserSecurityGroup.Response rsp);
    }

    public class MMAPI_Conn : FTAPI_Conn
    {
        private volatile MMSPI_Conn mmConnSpi;

        public void SetConnCallback(MMSPI_Conn callback) { mmConnSpi = callback; }

        protected override void HandleInitConnect(long errCode, string desc)
        {
            base.HandleInitConnect(errCode, desc);
            MMSPI_Conn spi = mmConnSpi;
            if (spi != null) spi.OnInitConnect(this, errCode, desc);
        }

        protected override void HandleDisconnect(long errCode)
        {
            base.HandleDisconnect(errCode);
            MMSPI_Conn spi = mmConnSpi;
            if (spi != null) spi.OnDisconnect(this, errCode);
        }
    }

    public class MMAPI_Qot : MMAPI_Conn
    {
        private volatile MMSPI_Qot qotSpi;

        public void SetQotCallback(MMSPI_Qot callback) { qotSpi = callback; }

        public uint GetUserSecurityGroup(QotGetUserSecurityGroup.Request req) { return SendGetUserSecurityGroup(req); }

        public Task<QotGetUserSecurityGroup.Response> GetUserSecurityGroupAsync(
            QotGetUserSecurityGroup.Request req, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SendGetUserSecurityGroupAsync(req, cancellationToken);
        }

        protected override void HandleReplyGetUserSecurityGroup(uint serialNo, QotGetUserSecurityGroup.Response rsp)
        {
            MMSPI_Qot spi = qotSpi;
            if (spi != null) spi.OnReply_GetUserSecurityGroup(this, serialNo, rsp);
        }
    }
}
