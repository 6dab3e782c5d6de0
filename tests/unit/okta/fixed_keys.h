/* Fixed RSA private keys for the unit tests (tests/unit/okta/test_*.c).
 *
 * Why not EVP_PKEY_Q_keygen: `make check` runs every unit test under
 * valgrind too, where one RSA key generation takes 5 to 20 seconds (the
 * prime search is random, so the time is too); the tests only need some
 * RSA key of a given size, never a fresh one. Two 2048-bit keys, because
 * some tests need a key that is not the trusted one.
 *
 * Test material only: made with `openssl genpkey -algorithm RSA
 * -pkeyopt rsa_keygen_bits:N` for these tests, protects nothing.
 */
#ifndef OJIT_TEST_FIXED_KEYS_H
#define OJIT_TEST_FIXED_KEYS_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static const char testkey_rsa2048_a[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCVUzI1npj3hg+q\n"
	"eg/vmxTYbc/Qq7C4KHyiYC5wJpTGCYr9RB//9NdJSv0cWUzAgTRnyvc1XWQM8zpQ\n"
	"+O2ADUxWN4zju2cSAFzVkzaMRougDtSaapmlHmhQJUAzQBqqfFrd2p8ZhOYKsI4J\n"
	"mViAZEeAELvSb9dnAt8k62QTBCc5kj2QQj/P4wHPjjCq1ujKfRqRRxkpDE+RXLzF\n"
	"sx3yT4XFdIBIAmpljw3s2Fau+HtvUsE9rHBbPVvc3FY0QiqpolUaq3ygXxEsWIzG\n"
	"h+X+PYbnFrPmn1tSZCDw4qmMRLJtOVsqel+yeCuqpWn3EaCnXMtPGiG55ljbi8ZZ\n"
	"x8c7KjAVAgMBAAECggEAJZPwvD6jtxK1KY0bKoyn48lKtXQnfkiuCLzUouOKqAWp\n"
	"xQ+aT/LhJLAq3zH31zAMrJwOtw7ACWRCRjNGrWVrUv0axwqXpxeRRSwNW6K7K3Xf\n"
	"+dYewUdUL+sX623T6BhwU4lbZXQk4gbJT9AXzgOuXKOZaJ09o049MpDMN97hMiLh\n"
	"T1Yj2eEhSmH3JOY7agejmPQfeDahx9x6e5zldroiuUwqcRRvIFQI1PcdC128mzQb\n"
	"WKdsElTQBpgtPP59AuX897VPzWNWjfDsDDiXDJaNK9ekqjRdoFFwzO34in4BiZxY\n"
	"qoFM84yLSvJ+9CS18o9sp66sEdAsF5ICmlDCyzx4pwKBgQDHbRpWIMjA9TcbY8BY\n"
	"+zh8cFBrUGomn+fDqZCm8BLZ6biOPXx9yLOj5BQgyPzFWyzZ1dvbEqZ0HX+w80E/\n"
	"WN4ZMhFbabMCNuCk5Wsymd4+zdMMyqav9V4t8H83Sf5XBmIZ3GiW/xvs+uWb5RzV\n"
	"AYwRHzQYuuUKKxCeRvLpTlnM6wKBgQC/r5oDf0NuXSJSnaRSOp5pZAAmGWvq7KAg\n"
	"kt2pWGgwR4Gt3R9jng68YycyDJcisj8GndvjN3RqyZSDNgicQUCJterwLQHhsRfq\n"
	"p9VBbtsbI+hZ3YhmXz/oRRnfG+M/TgHSCUyBUvetz2UAaBAo5Ka2jaHRoup1zTQN\n"
	"69145hi2/wKBgQCbhPXY3NAxygkjjvLdcWxnfp74UUm2vVTcPUvVI7tPvPhz1HdV\n"
	"EEMnOCKKPrMApU2gwyok+bJdMvP1Zn4njIIHXAg1JYS34VvmvBKQ73VlvNUtUIwV\n"
	"BGBhqv9KeqWh8BRo3n2h42g/spmErXOCmSZF4/OYpYcgGt1m0SV10+gr6QKBgQCV\n"
	"h7KpT7mWemiv8fGhg8DXjf7fua0J0hUH1Am+dQyxvNZYfspht4bfRqnozRGJK2sn\n"
	"CjXiBfx24VFNGfWVjwF9a8AeI734BWIW113wcT3S6ivzDnG9CkicNGt+NA8N7xhU\n"
	"dJSNvd8gY0zzCDqy68txVQMKugAUbUNSKNDX4wccmQKBgQCTsnJP+s3y8SY7W7mb\n"
	"SAn7+L/F4g8fgOG+XZ7x23goKhtmudEmfYIpiuFZLI8hb8n++vvPXvN5lJYgm/mw\n"
	"4A6J3o6m2+HCAipffYZDQMg3+KXQk7RlsA3RzLRINBS9tawUnq464q/qNRO6SR+o\n"
	"hPOciLFSH0X1dQ7D/OaprfB34A==\n"
	"-----END PRIVATE KEY-----\n";

static const char testkey_rsa2048_b[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCrnCNf5Dyau7HL\n"
	"3mmGAgYJdRc52aoGCDdT3fAoC1X14iy977i3R/W6mAllwc/bZcuBhVkUC3ExmaNY\n"
	"yzmLKofCZSOE0dJrMMshbZUOGY92pRx0VRvC/Cr1Gbb3cqc1juk4TnD+ncU8iPhw\n"
	"1XlBclE0k1Tl47/5fIiy6PDyuCa54rWXOCrcU94CZN+prJuLrRmb715t+wR1NrFy\n"
	"R8oiSc00wwAt2mtGZfWoRRNN2uaIaDae1ht07zxRmEZMCX6qcBGQxFaC4bev8xOu\n"
	"6y36F+zgIZk+90dOZ+5BTXp+byLZT/Pty1+g8CRfEAQ+x2mr01VWxuv01u0ggamS\n"
	"M1Mf8odRAgMBAAECggEAKPxYTYNo/wqjZt22hakvkGws8SXdb+Xf8vGPdTzp2Zkc\n"
	"VvutOebflyJPIkS09EEeZs92jC1EalR3mRImauisNl8p6cOkFfI4HYJ6xjyQEUXT\n"
	"Yyxdfkb0Kogq9PPm4AmDBW3kmkcLj47mCSrO9DTNlLk4XlRz6e3WhyZPv6SAKUZK\n"
	"MW53DizQ1fQJ0lPRA+nWUgTnW1kqQ5sta1AhygPCbh2KRC1QvvddmtM5N5nSaYHa\n"
	"jtqAi32hDz9zBVMCVkgJL7LQhlAFvbpyQVZpmxNG0mNso3u5pQoE8zQ6s/PJDfbS\n"
	"xmMYIyIhWDsf68Z4ODduU0ZVtNoNvSnTuHCXwGiVnQKBgQDXOD0rYNcy4XAv0h0f\n"
	"lfohdhhrWfv2zVuAoHPVLQhBFxuCqQ5S1XBYmnx95KBriE7hsIFfdSo2gBteNc8q\n"
	"xUJbBpiAziCrZ4ofPd75QGTtA23nEfI9ko8uwJLE7IQm8YDfb+zesa2C6H7jZR/C\n"
	"7ktTCT1SVhPidMSXCx6r11P43QKBgQDMIH/9GKUP7mpU16TjT3K2iDCL/lya1fek\n"
	"ANQjolhicr59/EO1Wuw1OvGdX/ypICjV73y2gPeD7eGBNeMw96qanwZCLoL8erdj\n"
	"Ryu7aKnxvZTk5ECXHlML2s/29+5pDcSTb3MpihwLXwgpNq2uuAJD930c7EdLb1tu\n"
	"nOCdiSknBQKBgQCVQiiSC/BTFivizlpqTG4ThL58vQRUbqlV9HFA16FQ2wC2Rh5r\n"
	"7iCjIkjSWpuy1+608N9YX35uG7xfQvwxEmrpjBJ5yfq4RO9yqUsZG8Ki6WzwAu84\n"
	"Kotohh+DuPARvg19aDcjXqASGMHfXIOBghf1N4QytQXHWOn6Qrj7vjM7dQKBgCAi\n"
	"WaOxVoLMiIa0r+ts3WUoyWOwdkmVt3dk/gBiFUHiSGSy6sHI/3hdwB2DN9Y0Dtmm\n"
	"6t4cLVrifuaFYi+aPYw7zpNqmQpAE1CYqqTFFEPPEXp7CEQB7Rbnqmd5nlmBZlnD\n"
	"aMC4UjPkEPfT+MGRjCHA+zwrYgnZDO672YxTRFw1AoGBAIW9cGVVcudrRnlzMA82\n"
	"U8UdP/nf5sBFnW+FGGTCmfcp5JvD0OQMuh2JPE5b3nwa3Rd+dB9HK0QQ/PGWMvW3\n"
	"vwLLzmeKILWH+E7g5X+3JiE1p7yAVlj9s68Vy49kEYeCYSZDHGmU3cHPA8A/k/qd\n"
	"W2TUpPelR01DOz0W4ZXmWc5F\n"
	"-----END PRIVATE KEY-----\n";

static const char testkey_rsa1024[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAMwy04ohBkBmlvFN\n"
	"m0B4AAJyW4G+gm4xxqxnu4qbkKgTPvVYQ8dJAWan4xB9TY3JEiT3Z0Df5yBifjH/\n"
	"YMhiYMbQ9qhKmi4+F2EupFrda1X2G04nVCZ9tb9LGYEblRZKz7JTcruPgI7m2qW3\n"
	"HsDN1vTKZvResIIyuCbSYujTE5QnAgMBAAECgYBf015ITRUk9b/R/4xi5a2DeG0O\n"
	"5vtIgR1t3MQ62KQ668U417H+/Him1xSMsXDKn9he9qdC35AUN4RnLCQcBWbKL29E\n"
	"JOsw0Hp9yE6/YhVmL09TOp31k5y4v++FE+eE2pCt4DqPGgm/pEHMFKlmnM+T+m05\n"
	"tWQJp2LLk2RKvOP8cQJBAPFsldlDoFZecWMG8/IfiMSZuSErYzY2FTeqLnaRTy7R\n"
	"+FnfyAfEDHoPgv9L5sQGEXdm01PLHb6sNOvfyJe48r8CQQDYhuM0Dh0z92FK8LwS\n"
	"0c4R3w3x8oXi2j/zHpKzj1RBk8KbhOxADXhLeC+GTzMNRM7Dp17omposAiGk/Otd\n"
	"lYCZAkEAzc1N1D7U4KtzpwIXVFBTa5zLdx4gXecuoRwerY5jXLs7JYohX5VdOXQd\n"
	"rHnMh0/Q9eMexPCCM7djCavjuIq9ywJBALkTwwzxq4CJyT3XO8sSToP0FuViGZLo\n"
	"XpUe4uJcdvZ+qG9qVM4DNXm8x1KUS9zhnaKbY4KK85D+WWe/UCdz7LECQGbaKqof\n"
	"7NHkaeyt0AB3wFsbdzptPYreK8XtWOLyYxJhlDCi6AB8+4dUHAmkB+3sjEwnbIMy\n"
	"G1mRgHRlh73gfCQ=\n"
	"-----END PRIVATE KEY-----\n";

/* One of the keys above as an EVP_PKEY (the caller frees it), NULL if
 * it does not parse. */
static inline EVP_PKEY *testkey_load(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = NULL;

	if (bio == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return key;
}

#endif
